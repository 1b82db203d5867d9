import torch


def cross_entropy(logits, targets):
    # shift each row so its largest entry is 0 before exponentiating
    row_max = logits.max(dim=1, keepdim=True).values
    shifted = logits - row_max
    log_norm = torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    log_probs = shifted - log_norm
    picked = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return -picked.mean()
