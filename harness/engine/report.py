"""The scorecard's ``diagnoses``: every named mistake found, with its evidence and the items it fails."""

from __future__ import annotations

from typing import Any

from ..models import Diagnosis
from .analysis import Evidence
from .reference import words
from .static import StaticFindings


def _search_evidence(evidence: Evidence) -> dict[str, Any]:
    search = evidence.search
    assert search.match is not None
    data: dict[str, Any] = {
        "relative_error_vs_mistaken_reference": float(f"{search.match.comparison.relative_error:.3g}"),
        "configuration": search.config,
        "binding": search.match.binding.describe(),
    }
    if search.closest is not None:
        data["relative_error_vs_reference"] = float(f"{search.closest.relative_error:.3g}")
    return data


def build_diagnoses(evidence: Evidence, static: StaticFindings) -> list[Diagnosis]:
    """Mistakes from the diagnosis search, then the engine's own findings (banned calls, nondeterminism, ...)."""
    found: list[Diagnosis] = []
    catalogue = evidence.reference.mistakes
    if evidence.search.match is not None:
        shared = _search_evidence(evidence)
        for mistake_id in evidence.search.match.mistakes:
            mistake = catalogue[mistake_id]
            found.append(Diagnosis(id=mistake_id, message=mistake.message, evidence=shared,
                                   items=list(mistake.items)))
    calls = {}
    if evidence.report is not None and evidence.report.ok:
        calls = {k: v for k, v in evidence.report.facts.get("banned_calls", {}).items() if v}
    if static.banned_uses or calls:
        found.append(Diagnosis(
            id=words(evidence.reference, "builtin_diagnosis"),
            message=f"The task asks for this written without {words(evidence.reference, 'builtin')}, but the "
                    "submission uses it.",
            evidence={"source": static.banned_uses, "runtime_calls": calls},
            items=["from_scratch"],
        ))
    if static.unverifiable:
        found.append(Diagnosis(
            id="unverifiable_calls",
            message="The code hides what it calls (dynamic code, torch functions looked up by computed names, "
                    "torch's internal registries, or introspection of the process); review it by hand.",
            evidence={"source": static.unverifiable},
            items=["from_scratch"],
        ))
    differing = evidence.nondeterministic()
    if differing and not evidence.dropout_left_on:
        first = differing[0]
        assert first.determinism is not None
        found.append(Diagnosis(
            id="nondeterministic",
            message="Two calls on the same input gave different outputs: layers or random numbers created inside "
                    "forward do this. Create every layer in __init__.",
            evidence={"configuration": first.config.name, "max_difference": first.determinism.max_abs_error},
            items=["deterministic"],
        ))
    mutated = [c.config.name for c in evidence.configs if c.input_mutated]
    if mutated:
        found.append(Diagnosis(
            id="mutates_input",
            message="forward modified its input tensor in place; callers' data must be left untouched.",
            evidence={"configurations": mutated}, items=[],
        ))
    non_finite = [c.config.name for c in evidence.configs
                  if c.output is not None and c.output.is_floating_point() and not c.output.isfinite().all()]
    if non_finite:
        found.append(Diagnosis(id="non_finite_output", message="The output contains NaN or infinite values.",
                               evidence={"configurations": non_finite}, items=["matches_reference"]))
    behaviours = [c for c in evidence.configs if c.behaviour is not None and c.behaviour.sequence_first is False]
    if evidence.search.match is None and behaviours and not differing:
        found.append(Diagnosis(
            id="layout_behaviour",
            message="Perturbing the input shows the wrong layout: batch elements influence each other or positions "
                    "do not mix.",
            evidence={c.config.name: vars(c.behaviour) for c in behaviours}, items=["sequence_first_layout"],
        ))
    searched = evidence.search.config is not None
    if searched and evidence.search.match is None and evidence.search.closest is None and not differing:
        found.append(Diagnosis(
            id="unmapped_parameters",
            message=f"Could not map the parameters to {words(evidence.reference, 'roles')}; graded on behaviour "
                    "only. Please review by hand.",
            evidence={"readings_tried": evidence.search.tried}, items=[],
        ))
    return found
