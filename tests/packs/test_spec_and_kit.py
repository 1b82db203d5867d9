"""The pack file format, the author kit and the statistics, without a sandbox."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch

from harness.catalog import ProblemFileError
from harness.kit import Choice, DefaultBinder, Mistake, Reference, Role
from harness.models import Tolerance
from harness.packs.compare import check_law, rate_consistent
from harness.packs.registry import PackRegistry
from harness.packs.selftest import cross_references
from harness.packs.values import SpecError, evaluate, shape_of
from runners.agent.draws import draw_tensor

BUILTIN = Path(__file__).resolve().parents[2] / "problem_packs"


@pytest.mark.parametrize(("expression", "value"), [("C", 7), ("2*D + 1", 9), ("(C + 1)//2", 4), ("max(C, D)", 7),
                                                    ("min(C, D) % 3", 1), (5, 5), ("-D + 10", 6)])
def test_shape_expressions_over_values(expression, value):
    assert evaluate(expression, {"C": 7, "D": 4}) == value


@pytest.mark.parametrize("expression", ["__import__('os')", "C.bit_length()", "C ** 2", "eps", "[C]", "C if D else 1",
                                        "lambda: 1"])
def test_shape_expressions_refuse_anything_but_arithmetic_over_integers(expression):
    with pytest.raises(SpecError):
        evaluate(expression, {"C": 7, "D": 4, "eps": 0.1})


def test_a_negative_size_is_refused():
    with pytest.raises(SpecError):
        shape_of(["C - 10"], {"C": 3})


def test_draws_are_identical_wherever_drawn_and_follow_their_law():
    spec = {"shape": [2000], "dtype": "int64", "law": "integers", "low": 3, "high": 7, "seed": 9}
    first, again = draw_tensor(spec), draw_tensor(dict(spec))
    assert torch.equal(first, again) and first.dtype == torch.int64
    assert int(first.min()) == 3 and int(first.max()) == 6
    mask = draw_tensor({"shape": [6, 9], "dtype": "bool", "law": "key_mask", "p": 0.3, "seed": 2})
    assert mask.dtype == torch.bool and not mask[:, 0].any() and not mask[0].any()
    assert all(bool(row[1:-1].any()) for row in mask[1:])


def test_the_rate_test_keeps_its_false_failure_bound():
    # Binomial samples of a correct rate at a lax alpha: the observed failure rate must stay under alpha.
    generator = torch.Generator().manual_seed(0)
    alpha, trials, n, q = 1e-2, 4000, 500, 0.3
    counts = (torch.rand(trials, n, generator=generator) < q).sum(dim=1)
    failures = sum(not rate_consistent(int(c), n, q, alpha) for c in counts)
    assert failures / trials <= alpha


def test_the_rate_test_has_the_power_to_catch_a_swapped_probability():
    assert not rate_consistent(700, 1000, 0.3, 1e-6)
    assert not rate_consistent(2, 10_000, 0.1, 1e-6)
    assert rate_consistent(1010, 10_000, 0.1, 1e-6)
    assert not rate_consistent(1, 100, 0.0, 1e-6) and rate_consistent(0, 100, 0.0, 1e-6)


def test_a_law_is_tested_by_support_and_by_rate():
    x = torch.randn(10_000, generator=torch.Generator().manual_seed(1)).double()
    keep = torch.rand(10_000, generator=torch.Generator().manual_seed(2)) >= 0.4
    law = Choice([("dropped", torch.zeros_like(x), 0.4), ("kept", x / 0.6, 0.6)])
    tolerance = Tolerance(rtol=1e-5, atol=1e-6, max_relative_error=1e-5)
    good = check_law(torch.where(keep, x / 0.6, 0.0), law, 1e-6, tolerance)
    assert good.matches
    unscaled = check_law(torch.where(keep, x, 0.0), law, 1e-6, tolerance)
    assert not unscaled.support_ok and unscaled.rate_of("dropped")
    inverted = check_law(torch.where(~keep, x / 0.6, 0.0), law, 1e-6, tolerance)
    assert inverted.support_ok and not inverted.rates_ok


def test_default_binder_reads_hinted_names_first_then_declaration_order_and_transposes():
    binder = DefaultBinder({"w": Role(("A", "B"), hints=("weight",)), "b": Role(("B",), hints=("bias",))})
    params = {"bias": torch.zeros(3), "proj.weight": torch.zeros(3, 2), "other": torch.zeros(3)}
    readings = list(binder.bindings(params, {"A": 2, "B": 3}))
    assert readings[0].describe() == {"w": "proj.weight.T", "b": "bias"}
    assert {tuple(sorted(r.describe().items())) for r in readings} == {
        (("b", "bias"), ("w", "proj.weight.T")), (("b", "other"), ("w", "proj.weight.T"))}


def test_variants_combine_mistakes_of_different_groups_only():
    reference = Reference(compute=lambda *a: None, solution=Path("x"), mistakes=[
        Mistake("a1", ("i",), "", group="a"), Mistake("a2", ("i",), "", group="a"), Mistake("b", ("j",), ""),
        Mistake("named", ("k",), "", named_when={"failed": ["k"]})])
    variants = reference.variants(2)
    assert variants[0] == frozenset()
    assert frozenset({"a1", "a2"}) not in variants and frozenset({"a1", "b"}) in variants
    assert all("named" not in v for v in variants)


def _copy_pack(tmp_path: Path, pack_id: str) -> Path:
    target = tmp_path / "course" / pack_id
    shutil.copytree(BUILTIN / pack_id, target)
    return target


def test_a_problem_file_error_names_the_file_and_the_field(tmp_path):
    target = _copy_pack(tmp_path, "dropout")
    text = (target / "problem.yaml").read_text().replace("entry: {kind: function", "entry: {kind: funktion")
    (target / "problem.yaml").write_text(text)
    with pytest.raises(ProblemFileError) as error:
        PackRegistry([tmp_path / "course"]).load("dropout")
    assert str(target / "problem.yaml") in str(error.value) and "entry.kind" in str(error.value)


def test_a_course_pack_shadows_the_built_in_one(tmp_path):
    target = _copy_pack(tmp_path, "dropout")
    text = (target / "problem.yaml").read_text().replace('title: Dropout', 'title: Our own dropout')
    (target / "problem.yaml").write_text(text)
    assert PackRegistry([tmp_path / "course"]).load("dropout").problem.title == "Our own dropout"
    assert PackRegistry().load("dropout").problem.title == "Dropout"


def test_cross_references_name_an_item_a_mistake_points_to_that_the_rubric_lacks(tmp_path):
    target = _copy_pack(tmp_path, "layer_norm")
    rubric = (target / "rubric.yaml").read_text().replace("id: affine", "id: affine_applied")
    (target / "rubric.yaml").write_text(rubric)
    errors = cross_references(PackRegistry([tmp_path / "course"]).load("layer_norm"))
    assert any("no_affine" in e and "'affine'" in e for e in errors), errors


def test_a_reference_that_does_not_import_is_a_clear_error(tmp_path):
    target = _copy_pack(tmp_path, "adam")
    (target / "reference.py").write_text("raise RuntimeError('broken on purpose')\n")
    with pytest.raises(ProblemFileError, match="reference.py: importing it failed"):
        PackRegistry([tmp_path / "course"]).load("adam")


def test_stochastic_alpha_is_the_per_grading_bound():
    pack = PackRegistry().load("dropout")
    assert pack.problem.alpha <= 1e-6
    assert math.isclose(pack.problem.alpha, 1e-6)
