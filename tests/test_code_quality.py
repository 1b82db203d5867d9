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


# Where an import's name is not its distribution's.
_DISTRIBUTION_OF = {"yaml": "pyyaml", "jwt": "pyjwt"}


def test_every_third_party_import_of_the_package_is_a_declared_dependency():
    """An undeclared import works where something else pulled it in (CI's extras did once) and breaks elsewhere."""
    import ast
    import re

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
                for requirement in project["dependencies"]}
    optional = {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
                for extra in project["optional-dependencies"].values() for requirement in extra}
    ours = {"harness", "runners", "reference_solutions", "problems", "rubrics"}
    undeclared = {}
    for top in sorted(ours):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
                for name in names:
                    module = name.split(".")[0]
                    if module in sys.stdlib_module_names or module in ours:
                        continue
                    distribution = _DISTRIBUTION_OF.get(module, module).lower()
                    if distribution not in declared and distribution not in optional:
                        undeclared.setdefault(module, str(path.relative_to(ROOT)))
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    assert "numpy" in declared  # used by safetensors.torch.save, not imported by name: declared all the same
