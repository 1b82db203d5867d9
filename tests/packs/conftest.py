"""Shared fixtures of the problem-pack tests: the five packs and their corpora."""

from __future__ import annotations

from pathlib import Path

import yaml

from harness.packs.registry import PackRegistry

PACK_IDS = ("cross_entropy", "layer_norm", "causal_attention", "adam", "dropout")
CORPORA = Path(__file__).resolve().parents[1] / "submissions"


def corpus_cases() -> list[tuple[str, str]]:
    """(pack id, file stem) for every corpus entry."""
    cases = []
    for pack_id in PACK_IDS:
        expected = yaml.safe_load((CORPORA / pack_id / "expected.yaml").read_text())
        cases.extend((pack_id, stem) for stem in sorted(expected))
    return cases


def expected_of(pack_id: str) -> dict:
    """A corpus's expected verdicts."""
    return yaml.safe_load((CORPORA / pack_id / "expected.yaml").read_text())


_PACKS: dict[str, object] = {}


def pack_of(pack_id: str):  # noqa: ANN201 - a Pack
    """The built-in pack, loaded once per test process."""
    if pack_id not in _PACKS:
        _PACKS[pack_id] = PackRegistry().load(pack_id)
    return _PACKS[pack_id]
