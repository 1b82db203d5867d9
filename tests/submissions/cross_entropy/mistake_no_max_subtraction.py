import torch


def cross_entropy(logits, targets):
    exp_logits = torch.exp(logits)
    log_partition = torch.log(exp_logits.sum(dim=1))
    true_logits = logits.gather(1, targets[:, None])[:, 0]
    return (log_partition - true_logits).mean()
