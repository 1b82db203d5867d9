"""Shared helpers of the test suite."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "submissions" / "mhsa"
# Submissions that hang or exhaust memory: only a real sandbox may run them.
SANDBOX_ONLY = {"broken_infinite_loop", "broken_memory_hog"}


def corpus_file(stem: str) -> Path:
    return CORPUS / f"{stem}.py"


def corpus_expectations() -> dict:
    return yaml.safe_load((CORPUS / "expected.yaml").read_text())
