"""The reference solution, written as a submission; MISTAKES switches on catalogued mistakes for the self-test."""

import torch

MISTAKES: frozenset[str] = frozenset()


def cross_entropy(logits, targets):
    axis = 0 if "softmax_over_batch" in MISTAKES else 1
    if "log_of_softmax" in MISTAKES:
        log_probs = torch.log(torch.softmax(logits, dim=axis))
    else:
        shifted = logits if "no_max_subtraction" in MISTAKES else logits - logits.max(dim=axis, keepdim=True).values
        log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=axis, keepdim=True))
    if "all_pairs_targets" in MISTAKES:
        picked = log_probs[:, targets]
    else:
        picked = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return -picked.sum() if "sum_instead_of_mean" in MISTAKES else -picked.mean()
