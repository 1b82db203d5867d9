"""``harness problems new``: a working pack to start from, for each entry kind.

Each template is a small, complete problem (a function, a module, an optimizer-like object) whose solution passes
its own self-test, so an author edits something that works rather than filling in blanks.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

KINDS = ("function", "module", "object")
FILES = ("problem.yaml", "rubric.yaml", "reference.py", "solution.py")


class ScaffoldError(Exception):
    """The pack cannot be written (it exists, or the id is not valid)."""


def scaffold(problem_id: str, kind: str, parent: Path) -> Path:
    """Write ``parent/problem_id`` from the ``kind`` template; returns the directory."""
    if kind not in KINDS:
        raise ScaffoldError(f"--kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if not problem_id.replace("_", "").isalnum() or not problem_id[:1].isalpha() or problem_id != problem_id.lower():
        raise ScaffoldError(f"{problem_id!r}: a problem id is lower-case letters, digits and underscores")
    target = parent / problem_id
    if target.exists():
        raise ScaffoldError(f"{target}: already exists")
    templates = resources.files("harness.packs").joinpath("templates", kind)
    texts = {name: templates.joinpath(name).read_text(encoding="utf-8").replace("__ID__", problem_id)
             for name in FILES}
    target.mkdir(parents=True)
    corpus = target / "corpus"
    corpus.mkdir()
    for name, text in texts.items():
        (target / name).write_text(text, encoding="utf-8")
    (corpus / "correct_solution.py").write_text(texts["solution.py"], encoding="utf-8")
    (corpus / "expected.yaml").write_text(templates.joinpath("expected.yaml").read_text(encoding="utf-8"),
                                          encoding="utf-8")
    return target
