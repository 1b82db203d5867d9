import torch


def cross_entropy(logits, targets):
    max_logit = logits.max(dim=1, keepdim=True).values
    shifted = logits - max_logit
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    target_log_probs = log_probs.gather(1, targets.unsqueeze(1))
    return -target_log_probs.sum()
