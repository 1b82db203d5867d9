from __future__ import annotations

import json
from datetime import datetime, timezone

import jsonschema
import pytest
from pydantic import ValidationError

import harness
from harness.models import Problem, Rubric, Scorecard
from harness.schemas import SCHEMA_MODELS, load_schema, render
from runners.base import ResourceUsage, RunnerReport


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_shipped_schemas_are_current(name):
    shipped = (__import__("pathlib").Path(harness.__file__).parent / "schemas" / f"{name}.schema.json").read_text()
    assert shipped == render(name), "run `python -m harness.schemas` and commit the result"


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_every_field_is_documented(name):
    def walk(schema):
        for prop, spec in schema.get("properties", {}).items():
            assert spec.get("description"), f"{name}: field {prop!r} has no docstring"
        for sub in schema.get("$defs", {}).values():
            walk(sub)

    walk(load_schema(name))


def test_public_api_is_exactly_the_intended_one():
    assert set(harness.__all__) == {
        "Catalog", "ExitCode", "LoadedProblem", "Problem", "ProblemFileError", "Rubric", "Scorecard",
        "__version__", "grade",
    }


def minimal_scorecard(**overrides):
    now = datetime.now(timezone.utc)
    data = dict(
        problem={"id": "mhsa", "version": "1"}, submission={"path": "a.py", "sha256": "0" * 64},
        status="graded", score=1.0, max_score=2.0,
        items=[{"id": "x", "title": "X", "status": "partial", "points": 1.0, "max_points": 2.0, "feedback": "f"}],
        resources=ResourceUsage(wall_s=1.0), runner=RunnerReport(name="fake"), started_at=now, finished_at=now,
    )
    data.update(overrides)
    return Scorecard.model_validate(data)


def test_scorecard_round_trips_and_validates_against_its_schema():
    scorecard = minimal_scorecard()
    payload = json.loads(scorecard.model_dump_json())
    jsonschema.validate(payload, load_schema("scorecard"))
    assert Scorecard.model_validate(payload) == scorecard


def test_scorecard_schema_rejects_an_unknown_status():
    payload = json.loads(minimal_scorecard().model_dump_json())
    payload["status"] = "great"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payload, load_schema("scorecard"))
    with pytest.raises(ValidationError):
        minimal_scorecard(status="great")


def test_problem_rejects_a_binding_config_that_does_not_exist(mhsa):
    data = mhsa.problem.model_dump()
    data["binding_config"] = "nope"
    with pytest.raises(ValidationError, match="binding_config"):
        Problem.model_validate(data)


def test_problem_rejects_configs_missing_sizes(mhsa):
    data = mhsa.problem.model_dump()
    del data["configs"][1]["sizes"]["num_heads"]
    with pytest.raises(ValidationError, match="missing sizes"):
        Problem.model_validate(data)


def test_rubric_rejects_duplicate_ids(mhsa):
    data = mhsa.rubric.model_dump()
    data["items"].append(dict(data["items"][0]))
    with pytest.raises(ValidationError, match="duplicate ids"):
        Rubric.model_validate(data)


def test_mhsa_rubric_has_the_required_items(mhsa):
    assert [item.id for item in mhsa.rubric.items] == [
        "interface", "output_shape", "sequence_first_layout", "matches_reference", "scaling", "softmax_over_keys",
        "projection_before_split", "distinct_heads", "output_projection", "no_extra_operations", "gradients",
        "deterministic", "from_scratch", "performance", "memory",
    ]


def test_mhsa_problem_covers_the_edge_cases(mhsa):
    sizes = [c.sizes for c in mhsa.problem.configs]
    assert any(s["seq_len"] == 1 for s in sizes)
    assert any(s["batch"] == 1 for s in sizes)
    assert any(s["num_heads"] == 1 for s in sizes)
    assert any(s["num_heads"] == s["embed_dim"] for s in sizes)
    assert any(s["embed_dim"] & (s["embed_dim"] - 1) for s in sizes)  # not a power of two
    assert "torch.nn.functional.scaled_dot_product_attention" in mhsa.problem.banned_callables
