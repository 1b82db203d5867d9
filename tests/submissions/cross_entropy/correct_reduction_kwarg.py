import torch


def cross_entropy(logits, targets, reduction="mean"):
    num_classes = logits.size(-1)
    classes = torch.arange(num_classes, device=logits.device)
    is_target = targets.unsqueeze(-1) == classes

    peak = logits.max(dim=-1, keepdim=True).values
    centred = logits - peak
    log_denominator = torch.log(torch.exp(centred).sum(dim=-1))
    target_score = torch.where(is_target, centred, torch.zeros_like(centred)).sum(dim=-1)

    per_sample = log_denominator - target_score
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "none":
        return per_sample
    raise ValueError(f"unknown reduction {reduction!r}")
