import torch


def cross_entropy(logits, targets):
    m = torch.max(logits, dim=1, keepdim=True).values
    log_probs = logits - m - torch.log(torch.sum(torch.exp(logits - m), dim=1, keepdim=True))
    # log-probability of each sample's label
    label_log_probs = log_probs[:, targets]
    return -label_log_probs.mean()
