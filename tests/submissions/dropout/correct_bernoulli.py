import torch


def dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    if training:
        probs = torch.full_like(x, 1 - p)
        return x * torch.bernoulli(probs) / (1 - p)
    return x
