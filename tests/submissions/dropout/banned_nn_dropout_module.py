import torch
import torch.nn as nn


def dropout(x, p, training=True):
    layer = nn.Dropout(p)
    layer.train(mode=training)
    return layer(x)
