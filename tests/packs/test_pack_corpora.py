"""Every corpus of the five packs is graded as a careful human would, through the in-process fake runner.

The fake runner answers with the agent's own probe executor, so these tests exercise the whole generic engine:
the plan, the agent's generic probes, decoding, the diagnosis and every check. The sandbox itself is the point of
test_pack_sandbox.py.
"""

from __future__ import annotations

import pytest

from harness.packs.selftest import expectation_problems
from runners.fake import FakeRunner
from tests.packs.conftest import CORPORA, PACK_IDS, corpus_cases, expected_of, pack_of


@pytest.mark.parametrize(("pack_id", "stem"), corpus_cases())
def test_corpus_file_gets_its_expected_verdict(pack_id, stem):
    card = pack_of(pack_id).grade(CORPORA / pack_id / f"{stem}.py", FakeRunner(), seed=20261202)
    problems = expectation_problems(card, expected_of(pack_id)[stem])
    assert not problems, problems


@pytest.mark.parametrize("pack_id", PACK_IDS)
@pytest.mark.parametrize("seed", [1, 987654321])
def test_correct_files_get_full_marks_whatever_the_seed(pack_id, seed):
    expected = expected_of(pack_id)
    for stem in [s for s in expected if s.startswith("correct_")]:
        card = pack_of(pack_id).grade(CORPORA / pack_id / f"{stem}.py", FakeRunner(), seed=seed)
        lost = [(i.id, i.feedback) for i in card.items if i.status != "passed" and not (
            i.id == "performance" and abs((i.details.get("ratio") or 0) - 3.0) < 0.75)]
        assert not lost and not card.diagnoses, (stem, lost)


@pytest.mark.parametrize("pack_id", PACK_IDS)
def test_every_catalogued_mistake_has_a_corpus_file_that_names_it(pack_id):
    expected = expected_of(pack_id)
    named = {mistake for verdict in expected.values() for mistake in verdict.get("diagnoses", [])}
    catalogue = {mistake.id for mistake in pack_of(pack_id).reference.mistakes}
    assert catalogue <= named, f"mistakes without a corpus file: {sorted(catalogue - named)}"
    assert len(expected) >= 8
    assert sum(stem.startswith("correct_") for stem in expected) >= 3


def test_a_grade_replays_exactly_from_its_recorded_seed():
    pack = pack_of("dropout")
    path = CORPORA / "dropout" / "correct_bernoulli.py"
    first = pack.grade(path, FakeRunner(), seed=424242)
    again = pack.grade(path, FakeRunner(), seed=first.seed)
    assert [(i.id, i.status, i.details) for i in first.items] == [(i.id, i.status, i.details) for i in again.items]
    other = pack.grade(path, FakeRunner(), seed=424243)
    assert other.items[3].details != first.items[3].details or other.seed != first.seed


def test_feedback_names_the_mistake_and_the_failed_items_only():
    card = pack_of("layer_norm").grade(CORPORA / "layer_norm" / "mistake_eps_outside_sqrt.py", FakeRunner(), seed=3)
    by_id = {item.id: item for item in card.items}
    assert [d.id for d in card.diagnoses] == ["eps_outside_sqrt"]
    assert by_id["eps_inside_sqrt"].status == "failed"
    assert "sqrt(var + eps)" in by_id["eps_inside_sqrt"].feedback
    assert by_id["biased_variance"].status == "passed" and by_id["last_axis"].status == "passed"
    assert "eps_outside_sqrt" in by_id["matches_reference"].feedback


def test_hidden_configurations_are_never_described_in_feedback():
    pack = pack_of("causal_attention")
    card = pack.grade(CORPORA / "causal_attention" / "mistake_no_scale.py", FakeRunner(), seed=5)
    hidden = [c for c in pack.problem.configs if c.hidden]
    text = " ".join(item.feedback + repr(item.details) for item in card.items)
    for config in hidden:
        shown = ", ".join(f"{k}={v}" for k, v in config.values.items())
        assert shown not in text


_UNCATALOGUED_ATTENTION = '''
import math
import torch
from torch import nn


class CausalSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h, self.d = num_heads, embed_dim // num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out = nn.Linear(embed_dim, embed_dim)

    def forward(self, x, key_padding_mask=None):
        b, t, e = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, self.d).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) * (TEMPERATURE / math.sqrt(self.d))
        blocked = torch.ones(t, t, dtype=torch.bool).triu(1) if CAUSAL else torch.zeros(t, t, dtype=torch.bool)
        blocked = blocked.expand(b, 1, t, t)
        if key_padding_mask is not None:
            blocked = blocked | key_padding_mask[:, None, None, :]
        weights = torch.softmax(scores.masked_fill(blocked, float("-inf")), dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, e))
'''


@pytest.mark.parametrize(("causal", "expected"), [(True, "passed"), (False, "failed")])
def test_an_uncatalogued_mistake_leaves_the_structural_items_to_the_properties(tmp_path, causal, expected):
    path = tmp_path / "attention.py"
    path.write_text(f"TEMPERATURE = 3.0\nCAUSAL = {causal}\n" + _UNCATALOGUED_ATTENTION)
    card = pack_of("causal_attention").grade(path, FakeRunner(), seed=8)
    by_id = {item.id: item for item in card.items}
    assert not card.diagnoses
    assert by_id["matches_reference"].status in ("failed", "partial")  # right only where T == 1
    assert by_id["causal_mask"].status == expected, by_id["causal_mask"].feedback
    assert by_id["padding_mask"].status == "passed", by_id["padding_mask"].feedback
    assert "Checked on behaviour" in by_id["causal_mask"].feedback
    assert by_id["scaling"].status == "skipped"


def test_a_hidden_configuration_reveals_no_shape_or_figure_in_feedback(tmp_path):
    # Right on the visible configurations, wrong shape on the hidden one: its shape must not be named.
    path = tmp_path / "ln.py"
    path.write_text(
        "import torch\nfrom torch import nn\n\nclass LayerNorm(nn.Module):\n"
        "    def __init__(self, d, eps=1e-5):\n        super().__init__()\n        self.eps = eps\n"
        "        self.weight = nn.Parameter(torch.ones(d))\n        self.bias = nn.Parameter(torch.zeros(d))\n"
        "    def forward(self, x):\n        if x.shape[-1] == 300:\n            return x[..., :7]\n"
        "        m = x.mean(-1, keepdim=True)\n        v = x.var(-1, unbiased=False, keepdim=True)\n"
        "        return (x - m) / torch.sqrt(v + self.eps) * self.weight + self.bias\n")
    card = pack_of("layer_norm").grade(path, FakeRunner(), seed=4)
    text = " ".join(item.feedback + repr(item.details) for item in card.items)
    assert "300" not in text and "hidden configuration 'wide'" in text
