import torch


def cross_entropy(logits, targets):
    logits = logits - logits.max(dim=1, keepdim=True).values
    log_z = torch.log(torch.exp(logits).sum(dim=1))
    target_logits = torch.gather(logits, 1, targets)
    return (log_z - target_logits).mean()
