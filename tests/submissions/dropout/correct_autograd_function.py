import torch


class _InvertedDropoutFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, p):
        keep_prob = 1.0 - p
        keep = torch.rand(x.shape, dtype=x.dtype, device=x.device) < keep_prob
        scaled_mask = keep.to(x.dtype) / keep_prob
        ctx.save_for_backward(scaled_mask)
        return x * scaled_mask

    @staticmethod
    def backward(ctx, grad_out):
        (scaled_mask,) = ctx.saved_tensors
        return grad_out * scaled_mask, None


def dropout(x, p, training=True):
    if not training:
        return x
    return _InvertedDropoutFn.apply(x, p)
