import torch


def cross_entropy_loss(logits, targets):
    m = logits.max(dim=1, keepdim=True).values
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=1, keepdim=True))
    return -log_probs.gather(1, targets.unsqueeze(1)).mean()
