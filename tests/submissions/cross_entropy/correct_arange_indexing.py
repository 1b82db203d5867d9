import torch


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    n = logits.shape[0]
    # the max only keeps exp() in range; the result does not depend on it
    m, _ = torch.max(logits, dim=-1)
    m = m.detach()
    shifted = logits - m[:, None]
    log_sum = torch.log(torch.sum(torch.exp(shifted), dim=-1))
    target_shifted = shifted[torch.arange(n, device=logits.device), targets]
    losses = log_sum - target_shifted
    return losses.sum() / n
