import torch
import torch.nn as nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.dense = nn.Linear(embed_dim, embed_dim)

    def transpose_for_scores(self, t):
        new_shape = t.size()[:-1] + (self.num_heads, self.head_dim)
        return t.view(new_shape).permute(0, 2, 1, 3)

    def forward(self, x, key_padding_mask=None):
        seq_len = x.size(1)
        q = self.transpose_for_scores(self.query(x))
        k = self.transpose_for_scores(self.key(x))
        v = self.transpose_for_scores(self.value(x))

        scores = torch.matmul(q, k.transpose(-1, -2))

        bias = torch.zeros(seq_len, seq_len, device=x.device, dtype=scores.dtype)
        bias = bias.masked_fill(torch.ones_like(bias, dtype=torch.bool).triu(1), -10000.0)
        scores = scores + bias
        if key_padding_mask is not None:
            scores = scores + key_padding_mask[:, None, None, :].to(scores.dtype) * -10000.0

        probs = nn.functional.softmax(scores, dim=-1)
        context = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        context = context.view(context.size()[:-2] + (-1,))
        return self.dense(context)
