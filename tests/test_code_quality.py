"""ruff and mypy are part of the test suite, so CI enforces them with the same command."""

from __future__ import annotations

import shutil
import subprocess
import sys

from tests.support import ROOT


def test_ruff_is_clean():
    assert shutil.which("ruff"), "install the dev extra: pip install -e '.[dev]'"
    completed = subprocess.run(["ruff", "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_mypy_is_clean():
    completed = subprocess.run([sys.executable, "-m", "mypy", "harness", "runners", "reference_solutions"],
                               cwd=ROOT, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_package_is_in_the_distribution():
    """A package missing from pyproject's list works in a checkout and breaks a regular `pip install .`."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top in ("harness", "runners", "reference_solutions", "problems", "rubrics"):
        for init in (ROOT / top).rglob("__init__.py"):
            found.add(".".join(init.parent.relative_to(ROOT).parts))
    assert found - listed == set(), f"add to [tool.setuptools] packages: {sorted(found - listed)}"
