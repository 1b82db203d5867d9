import torch


def cross_entropy(logits, targets):
    N, C = logits.shape
    onehot = torch.zeros_like(logits).scatter_(1, targets.view(N, 1), 1.0)

    mx = logits.amax(dim=1, keepdim=True)
    z = logits - mx
    logZ = z.exp().sum(1).log()

    z_true = (z * onehot).sum(1)
    return torch.mean(logZ - z_true)
