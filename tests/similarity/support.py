"""Shared helpers of the similarity tests: the planted-copy corpus and its truth."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import yaml

from harness.submission_source import is_source_name, python_text

CORPUS = Path(__file__).parent / "corpus"
STARTER = CORPUS / "starter.py"


def corpus_texts() -> dict[str, str]:
    """Every solution of the corpus (independent and planted copies) as the Python compared, by name; the starter
    left out. A notebook is the Python of its code cells, as a batch's kept notebook is compared."""
    return {path.stem: python_text(path) for path in sorted(CORPUS.iterdir())
            if is_source_name(path.name) and path.stem != "starter"}


def planted_copies() -> list[dict]:
    """truth.yaml's entries: copy, original, disguises."""
    return yaml.safe_load((CORPUS / "truth.yaml").read_text())["copies"]


def families() -> list[set[str]]:
    """Each original with all its copies: every pair inside a family is a copy (two copies of one original too)."""
    found: dict[str, set[str]] = {}
    for entry in planted_copies():
        found.setdefault(entry["original"], {entry["original"]}).add(entry["copy"])
    return list(found.values())


def copied_pairs() -> set[frozenset[str]]:
    """The pairs that truth.yaml says share copied code."""
    return {frozenset(pair) for family in families() for pair in itertools.combinations(sorted(family), 2)}


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """A minimal valid nbformat-4 notebook with these (cell type, source) cells."""
    def cell(kind: str, source: str) -> dict:
        made = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            made.update(execution_count=None, outputs=[])
        return made
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                "cells": [dict(cell(kind, source), id=f"c{n}") for n, (kind, source) in enumerate(cells)]}
    path.write_text(json.dumps(notebook))
    return path


def make_grades(root: Path, texts: dict[str, str]) -> Path:
    """A batch folder with only ``sources/<student>.py`` in it, as `harness batch` keeps them."""
    (root / "sources").mkdir(parents=True)
    for name, text in texts.items():
        (root / "sources" / f"{name}.py").write_text(text)
    return root
