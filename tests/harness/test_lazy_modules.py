"""A module whose parameters take their shapes from a first forward (nn.LazyLinear) is graded like any other."""

from __future__ import annotations

import pytest

from harness.api import grade
from runners.fake import FakeRunner

SOURCE = '''
import math
import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.q_proj = nn.LazyLinear(embed_dim)
        self.k_proj = nn.LazyLinear(embed_dim)
        self.v_proj = nn.LazyLinear(embed_dim)
        self.out_proj = nn.LazyLinear(embed_dim)

    def forward(self, x):
        t, b, e = x.shape
        d = e // self.h

        def split(y):
            return y.reshape(t, b * self.h, d).transpose(0, 1)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d), dim=-1)
        return self.out_proj((weights @ v).transpose(0, 1).reshape(t, b, e))
'''


@pytest.mark.parametrize("scale", ["math.sqrt(d)", "math.sqrt(e)"])
def test_lazy_linear_projections_are_materialised_before_their_shapes_are_read(tmp_path, scale):
    path = tmp_path / "lazy_attention.py"
    path.write_text(SOURCE.replace("math.sqrt(d)", scale))
    card = grade(path, "mhsa", FakeRunner(), seed=3)
    by_id = {item.id: item for item in card.items}
    assert by_id["interface"].status == "passed", by_id["interface"].feedback
    if scale == "math.sqrt(d)":
        assert all(item.status in ("passed", "skipped") for item in card.items), [
            (i.id, i.feedback) for i in card.items if i.status not in ("passed", "skipped")]
        assert by_id["matches_reference"].status == "passed"
    else:
        assert [d.id for d in card.diagnoses] == ["scale_by_embed_dim"]
        assert by_id["scaling"].status == "failed"
