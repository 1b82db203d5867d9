import torch


def cross_entropy(logits, targets):
    idx = targets.long().reshape(-1, 1)

    shift = logits.max(dim=1, keepdim=True).values.detach()
    # a row whose max is +-inf would give nan after the subtraction; shift such rows by 0
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))

    x = logits - shift
    log_denom = torch.log(torch.exp(x).sum(dim=1))
    numer = torch.gather(x, 1, idx).squeeze(1)
    return (log_denom - numer).mean()
