"""Every pack proves it can grade.

Its cross-references hold, its solution gets full marks on many secret seeds, each catalogued mistake synthesised
from the solution is named and fails exactly its items, and its corpus matches its expected verdicts.
"""

from __future__ import annotations

import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from runners.base import Runner
from runners.fake import FakeRunner

from ..models import Scorecard
from .checks import LIBRARY
from .pack import Pack, SpecPack
from .values import SpecError, shape_of

COLLATERAL_CHECKS = frozenset({"matches_reference", "gradients", "performance"})
"""Checks that compare outputs with the correct reference: any mistake that changes an output may fail them."""
BORDERLINE = 0.25
"""A performance ratio within this fraction of the allowed one is noise: a corpus accepts either verdict there."""
_MISTAKES_LINE = re.compile(r"^MISTAKES\b.*$", re.MULTILINE)


@dataclass
class Finding:
    """One line of a self-test."""

    ok: bool
    text: str


@dataclass
class SelfTestReport:
    """What the self-test found, in order."""

    pack: str
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every finding passed."""
        return all(finding.ok for finding in self.findings)

    def add(self, ok: bool, text: str) -> None:
        """Record a finding."""
        self.findings.append(Finding(ok, text))


def cross_references(pack: Pack) -> list[str]:
    """Problems in the pack's files that the schemas cannot see (empty when consistent)."""
    if not isinstance(pack, SpecPack):
        return []
    problem, rubric, reference = pack.problem, pack.rubric, pack.reference
    errors = []
    items = {item.id for item in rubric.items}
    for mistake in reference.mistakes:
        for item in mistake.items:
            if item not in items:
                errors.append(f"reference.py: mistake {mistake.id}: item {item!r} is not in rubric.yaml")
        for item in [*((mistake.named_when or {}).get("failed", ())), *((mistake.named_when or {}).get("passed", ()))]:
            if item not in items:
                errors.append(f"reference.py: mistake {mistake.id}: named_when item {item!r} is not in rubric.yaml")
    for item in rubric.items:
        name = item.check or item.id
        if name not in reference.checks and name not in LIBRARY and not any(item.id in m.items
                                                                           for m in reference.mistakes):
            errors.append(f"rubric.yaml: item {item.id}: no check named {name!r} (library: "
                          f"{', '.join(sorted(LIBRARY))}; pack: {', '.join(sorted(reference.checks)) or 'none'})")
        if name == "performance" and problem.benchmark is None:
            errors.append(f"rubric.yaml: item {item.id}: the problem defines no benchmark")
    for config in problem.configs:
        for name, spec in problem.inputs.items():
            try:
                shape_of(config.shapes.get(name, spec.tensor), config.values)
            except SpecError as exc:
                errors.append(f"problem.yaml: configs.{config.name}: input {name}: {exc}")
    if problem.trajectory is not None and reference.trajectory is None:
        errors.append("reference.py: a trajectory problem needs Reference(trajectory=...)")
    if problem.entry.kind == "module" and reference.binder is None:
        errors.append("reference.py: a module problem needs Reference(binder=...) to read its parameters")
    return errors


def synthesise(solution: Path, mistakes: frozenset[str], directory: Path) -> Path:
    """The pack's solution with these catalogued mistakes switched on."""
    text = solution.read_text(encoding="utf-8")
    if not _MISTAKES_LINE.search(text):
        raise ValueError(f"{solution}: no module-level MISTAKES line to switch mistakes on")
    flags = "{" + ", ".join(repr(m) for m in sorted(mistakes)) + "}" if mistakes else "()"
    path = directory / (("_".join(sorted(mistakes)) or "solution") + ".py")
    path.write_text(_MISTAKES_LINE.sub(f"MISTAKES = frozenset({flags})", text, count=1), encoding="utf-8")
    return path


def expectation_problems(card: Scorecard, expected: dict[str, Any], pack: Pack | None = None) -> list[str]:
    """How a scorecard differs from an expected verdict (status, items, diagnoses); empty when it matches.

    A performance item whose measured ratio is within ``BORDERLINE`` of the allowed one may go either way.
    """
    problems = []
    if card.status != expected.get("status", "graded"):
        problems.append(f"status {card.status}, expected {expected.get('status')}: {card.message}")
    for item in card.items:
        want = expected.get("items", {}).get(item.id)
        if want is None or item.status == want:
            continue
        ratio, allowed = item.details.get("ratio"), item.details.get("allowed_ratio")
        if item.id == "performance" and ratio and allowed and abs(ratio - allowed) <= BORDERLINE * allowed:
            continue
        problems.append(f"{item.id}: {item.status}, expected {want}: {item.feedback[:200]}")
    names = sorted(d.id for d in card.diagnoses)
    if names != sorted(expected.get("diagnoses", [])):
        problems.append(f"diagnoses {names}, expected {sorted(expected.get('diagnoses', []))}")
    return problems


def self_test(pack: Pack, runner: Runner, *, seeds: int = 5, corpus: Path | None = None,
              progress: Callable[[str], None] | None = None) -> SelfTestReport:
    """Run the whole self-test; ``runner`` grades the solution and the corpus, mistakes are answered in-process."""
    report = SelfTestReport(pack.id)

    def note(ok: bool, text: str) -> None:
        report.add(ok, text)
        if progress is not None:
            progress(("ok    " if ok else "FAIL  ") + text)

    errors = cross_references(pack)
    note(not errors, "cross-references" + ("" if not errors else ": " + "; ".join(errors)))
    if errors or not isinstance(pack, SpecPack):
        if not isinstance(pack, SpecPack):
            note(True, "a classic problem: its corpus is graded by the test suite")
        return report
    solution = pack.reference.solution
    for _ in range(seeds):
        seed = secrets.randbits(62)
        card = pack.grade(solution, runner, seed=seed)
        lost = [f"{i.id} ({i.status}: {i.feedback[:160]})" for i in card.items if i.status != "passed"]
        borderline = [i for i in card.items if i.id == "performance" and i.status != "passed"
                      and abs((i.details.get("ratio") or 0) - (i.details.get("allowed_ratio") or 0))
                      <= BORDERLINE * (i.details.get("allowed_ratio") or 1)]
        lost = [text for text in lost if not (borderline and text.startswith("performance"))]
        lost_text = f"; lost {', '.join(lost)}" if lost else ""
        note(not lost and not card.diagnoses, f"solution, seed {seed}: {card.score:g}/{card.max_score:g}{lost_text}")
    _mistakes(pack, note)
    corpus = corpus or pack.corpus
    if corpus is not None:
        expected = yaml.safe_load((corpus / "expected.yaml").read_text(encoding="utf-8")) or {}
        for stem, verdict in sorted(expected.items()):
            card = pack.grade(corpus / f"{stem}.py", runner)
            problems = expectation_problems(card, verdict, pack)
            note(not problems, f"corpus {stem}: {card.score:g}" + ("; " + "; ".join(problems) if problems else ""))
    return report


def _mistakes(pack: SpecPack, note: Callable[[bool, str], None]) -> None:
    reference, rubric = pack.reference, pack.rubric
    collateral = {item.id for item in rubric.items if (item.check or item.id) in COLLATERAL_CHECKS}
    single = [frozenset({m.id}) for m in reference.mistakes]
    pairs = [flags for flags in reference.variants(2) if len(flags) == 2][:6]
    with tempfile.TemporaryDirectory(prefix="harness-selftest-") as work:
        for flags in [*single, *pairs]:
            path = synthesise(reference.solution, flags, Path(work))
            card = pack.grade(path, FakeRunner(), seed=secrets.randbits(62))
            named = {d.id for d in card.diagnoses}
            own = {item for m in flags for item in reference.mistake(m).items}
            failed = {i.id for i in card.items if i.status != "passed"}
            problems = []
            if named != set(flags):
                problems.append(f"named {sorted(named) or 'nothing'}")
            if not own <= failed:
                problems.append(f"its items {sorted(own - failed)} passed")
            extra = failed - own - collateral
            if extra:
                problems.append(f"also failed {sorted(extra)}")
            note(not problems, f"mistake {' + '.join(sorted(flags))}: {card.score:g}"
                 + ("; " + "; ".join(problems) if problems else ""))
