"""The agent's call counter, tested in this process (each test uninstalls it again).

Every alias and kin of a banned callable counts, nothing hands out the original, and uninstalling puts torch back
exactly as it was.
"""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F

from runners.agent.probes import CallCounter

MHA = "torch.nn.MultiheadAttention"
MHA_FORWARD = "torch.nn.functional.multi_head_attention_forward"
SDPA = "torch.nn.functional.scaled_dot_product_attention"


@pytest.fixture
def counter():
    installed = CallCounter()
    installed.install([MHA, MHA_FORWARD, SDPA])
    try:
        yield installed
    finally:
        installed.uninstall()


def _qkv() -> torch.Tensor:
    return torch.randn(1, 2, 3, 4)


def test_every_alias_of_the_same_builtin_counts(counter):
    q = _qkv()
    torch._C._nn.scaled_dot_product_attention(q, q, q)
    assert counter.counts[SDPA] == 1


def test_the_wrapper_does_not_hand_out_the_original(counter):
    wrapper = F.scaled_dot_product_attention
    assert not hasattr(wrapper, "__wrapped__")
    assert inspect.unwrap(wrapper) is wrapper
    held = [cell.cell_contents for cell in wrapper.__closure__ or ()]
    assert not any(type(value).__name__ == "builtin_function_or_method" for value in held)
    assert wrapper.__name__ == "scaled_dot_product_attention"


def test_torchs_private_kernels_count_under_the_closest_banned_name(counter):
    q = _qkv()
    torch._scaled_dot_product_attention_math(q, q, q)
    assert counter.counts[SDPA] == 1 and counter.counts[MHA] == 0


def test_a_banned_class_counts_its_forward_not_only_its_construction(counter):
    module = torch.nn.MultiheadAttention(4, 2)
    counter.counts[MHA] = 0  # as if construction had been skipped (cls.__new__ and a copied state)
    x = torch.randn(3, 2, 4)
    module(x, x, x)
    assert counter.counts[MHA] == 1


def test_uninstall_restores_every_alias():
    sdpa, mha_forward = F.scaled_dot_product_attention, F.multi_head_attention_forward
    init, forward = vars(torch.nn.MultiheadAttention)["__init__"], vars(torch.nn.MultiheadAttention)["forward"]
    kernel = torch._scaled_dot_product_attention_math
    installed = CallCounter()
    installed.install([MHA, MHA_FORWARD, SDPA])
    try:
        assert F.scaled_dot_product_attention is not sdpa and torch._C._nn.scaled_dot_product_attention is not sdpa
    finally:
        installed.uninstall()
    assert F.scaled_dot_product_attention is sdpa and torch._C._nn.scaled_dot_product_attention is sdpa
    assert F.multi_head_attention_forward is mha_forward and torch._scaled_dot_product_attention_math is kernel
    assert vars(torch.nn.MultiheadAttention)["__init__"] is init
    assert vars(torch.nn.MultiheadAttention)["forward"] is forward
