from __future__ import annotations

import itertools

import pytest
import torch

from reference_solutions.mhsa import REFERENCE, tokens


@pytest.mark.parametrize("embed, heads", [(8, 2), (12, 1), (6, 6), (20, 5)])
def test_reference_equals_torch_multihead_attention(embed, heads):
    torch.manual_seed(0)
    module = torch.nn.MultiheadAttention(embed, heads).double()
    for parameter in module.parameters():
        torch.nn.init.uniform_(parameter, -0.5, 0.5)
    params = {name: p.detach() for name, p in module.named_parameters()}
    sizes = {"embed_dim": embed, "num_heads": heads}
    binding = next(iter(REFERENCE.bindings(params, sizes)))
    x = torch.randn(5, 3, embed, dtype=torch.float64)
    expected, _ = module(x, x, x)
    assert torch.allclose(REFERENCE.forward(params, binding, x, sizes), expected, atol=1e-12)


def test_gradients_flow_to_the_candidates_own_tensors():
    params = {"in_proj_weight": torch.randn(24, 8, dtype=torch.float64, requires_grad=True),
              "out_proj.weight": torch.randn(8, 8, dtype=torch.float64, requires_grad=True)}
    sizes = {"embed_dim": 8, "num_heads": 2}
    binding = next(iter(REFERENCE.bindings(params, sizes)))
    REFERENCE.forward(params, binding, torch.randn(4, 2, 8, dtype=torch.float64), sizes).sum().backward()
    assert params["in_proj_weight"].grad is not None and params["in_proj_weight"].grad.abs().sum() > 0


def test_binding_search_is_bounded():
    params = {f"m{i}": torch.randn(8, 8) for i in range(7)}
    count = sum(1 for _ in itertools.islice(REFERENCE.bindings(params, {"embed_dim": 8, "num_heads": 2}), 10**6))
    assert count <= 2000


@pytest.mark.parametrize("name, expected_tokens", [
    ("q_proj.weight", ["q", "proj"]), ("W_q", ["q"]), ("bq", ["q"]), ("in_proj_bias", ["in", "proj"]),
    ("queryWeight", ["query"]),
])
def test_name_tokens_pair_weights_with_biases(name, expected_tokens):
    assert tokens(name) == expected_tokens
