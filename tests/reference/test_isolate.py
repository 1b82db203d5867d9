"""Parts of an attention no known mistake explains are checked one by one from the recovered attention weights."""

import itertools
import math

import pytest
import torch

from reference_solutions.mhsa import REFERENCE
from reference_solutions.mhsa.binding import correct_bindings
from reference_solutions.mhsa.functional import Variant, attention

SIZES = {"embed_dim": 32, "num_heads": 4}


def _case(seq: int = 7, batch: int = 3, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    embed = SIZES["embed_dim"]
    params = {}
    for role in "qkvo":
        params[f"{role}_proj.weight"] = torch.randn(embed, embed, generator=generator, dtype=torch.float64) / 5
        params[f"{role}_proj.bias"] = torch.randn(embed, generator=generator, dtype=torch.float64) / 5
    x = torch.randn(seq, batch, embed, generator=generator, dtype=torch.float64)
    binding = next(iter(correct_bindings(params, embed, SIZES["num_heads"])))
    return params, x, binding


def _isolated(output_of, seq: int = 7):
    params, x, binding = _case(seq)
    weights = binding.weights_from(params)
    output = output_of(x, weights).float()
    return REFERENCE.isolate(params, {**SIZES, "seq_len": seq, "batch": 3}, x, output)


def test_a_correct_attention_passes_every_part_it_can_check():
    decided = _isolated(lambda x, w: attention(x, w, SIZES["num_heads"]))
    assert {item: d.status for item, d in decided.items()} == dict.fromkeys(
        ("output_projection", "no_extra_operations", "softmax_over_keys", "projection_before_split",
         "distinct_heads", "scaling"), "passed")


@pytest.mark.parametrize("divisor", [1.0, 8.0, math.sqrt(32)])
def test_the_temperature_is_measured_whatever_it_is(divisor):
    def scaled(x, w):  # the scores divided by ``divisor`` instead of sqrt(head_dim) = sqrt(8)
        return attention(x * 1, w, SIZES["num_heads"], Variant(scale="none")) if divisor == 1.0 else \
            _attention_with_divisor(x, w, divisor)

    decided = _isolated(scaled)
    assert decided["scaling"].status == "failed"
    assert f"{1 / divisor:.4g}" in decided["scaling"].feedback
    assert decided["softmax_over_keys"].status == "passed"


def _attention_with_divisor(x, w, divisor):
    seq, batch, embed = x.shape
    heads = SIZES["num_heads"]

    def split(t):
        return t.reshape(seq, batch, heads, embed // heads).permute(1, 2, 0, 3)

    q, k, v = (split(x @ m.T + b) for m, b in ((w.q, w.q_bias), (w.k, w.k_bias), (w.v, w.v_bias)))
    attn = torch.softmax(q @ k.transpose(-1, -2) / divisor, dim=-1)
    return (attn @ v).permute(2, 0, 1, 3).reshape(seq, batch, embed) @ w.o.T + w.o_bias


def test_a_mask_is_seen_and_the_weights_normalised_over_queries_are_named():
    masked = _isolated(lambda x, w: attention(x, w, SIZES["num_heads"], Variant(mask="causal")))
    assert masked["no_extra_operations"].status == "failed"
    assert "causal" in masked["no_extra_operations"].feedback
    over_queries = _isolated(lambda x, w: attention(x, w, SIZES["num_heads"], Variant(softmax_axis="queries")))
    assert over_queries["softmax_over_keys"].status == "failed"
    assert "over the queries" in over_queries["softmax_over_keys"].feedback


def test_nothing_is_decided_when_the_output_is_not_attention_over_the_values():
    assert _isolated(lambda x, w: torch.tanh(attention(x, w, SIZES["num_heads"]))) == {}
    assert _isolated(lambda x, w: attention(x, w, SIZES["num_heads"], Variant(norm="post_residual"))) == {}


def test_nothing_is_decided_with_more_positions_than_head_dim():
    # With seq_len > head_dim the weights of a combination of values are not unique: nothing can be read.
    assert _isolated(lambda x, w: attention(x, w, SIZES["num_heads"]), seq=9) == {}


def test_isolation_is_bounded_by_the_readings_it_is_given():
    params, x, _ = _case()
    output = attention(x, next(iter(correct_bindings(params, 32, 4))).weights_from(params), 4).float()
    readings = list(itertools.islice(correct_bindings(params, 32, 4), 3))
    from reference_solutions.mhsa.isolate import isolate

    assert isolate(params, {**SIZES}, x, output, readings)
    assert isolate(params, {**SIZES}, x, output, []) == {}
