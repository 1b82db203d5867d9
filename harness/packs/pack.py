"""A problem pack: a directory holding ``problem.yaml``, ``rubric.yaml``, ``reference.py`` and ``solution.py``.

Two kinds share one surface (id, problem, rubric, entry name, ``grade``): a ``SpecPack`` (schema version 2, graded
by the generic pack engine) and a ``ClassicPack`` (a schema version 1 problem file with its reference package,
graded by the module engine; the flagship is one). The engine never asks which kind it holds.
"""

from __future__ import annotations

import abc
import copy
import dataclasses
import importlib.util
import sys
from pathlib import Path
from typing import Any

from runners.base import Limits, Runner

from ..catalog import LoadedProblem, ProblemFileError, validate_file
from ..models import Rubric, Scorecard
from .spec import PackProblem

PROBLEM_FILE, RUBRIC_FILE, REFERENCE_FILE, SOLUTION_FILE = "problem.yaml", "rubric.yaml", "reference.py", "solution.py"


class Pack(abc.ABC):
    """One problem with everything needed to grade it."""

    origin: Path
    """Where it was found (its directory, or its problem file)."""

    @property
    @abc.abstractmethod
    def id(self) -> str:
        """The problem id."""

    @property
    @abc.abstractmethod
    def problem(self) -> Any:
        """The validated problem file (its ``id``, ``version``, ``title``, ``statement``, ``limits``)."""

    @property
    @abc.abstractmethod
    def rubric(self) -> Rubric:
        """The rubric."""

    @property
    @abc.abstractmethod
    def entry_name(self) -> str:
        """The top-level name a submission must define (how a batch finds the file among several)."""

    @property
    def corpus(self) -> Path | None:
        """The pack's own corpus of submissions with ``expected.yaml``, if it ships one."""
        return None

    @abc.abstractmethod
    def grade(self, submission: Path, runner: Runner, *, seed: int | None = None, limits: Limits | None = None,
              device: str | None = None) -> Scorecard:
        """Grade one submission; whatever it does becomes a scorecard."""

    @abc.abstractmethod
    def self_check_view(self) -> Pack:
        """The pack as a student's self-check grades it: visible configurations and items only, no benchmark.

        Raises :class:`SelfCheckUnavailable` when the problem cannot be checked without a hidden configuration.
        """


class SelfCheckUnavailable(ValueError):
    """The problem offers no self-check (its first configuration, where parameters are mapped, is hidden)."""


def visible_configs(configs: list[Any], first: str, problem_id: str) -> list[Any]:
    """The configurations a self-check runs: visible ones it may run, which must include ``first`` (the binding one)."""
    shown = [config for config in configs if not config.hidden and config.self_check]
    if not any(config.name == first for config in shown):
        raise SelfCheckUnavailable(f"problem {problem_id!r} offers no self-check: its configuration {first!r}, "
                                   "where a submission's parameters are matched, is hidden or left out of self-checks")
    return shown


def visible_rubric(rubric: Rubric) -> Rubric:
    """The rubric's items a student always sees (hidden and later-released ones are not checked at all)."""
    items = [item for item in rubric.items if item.visibility == "visible"]
    return rubric.model_copy(update={"items": items})


class SpecPack(Pack):
    """A pack directory of schema version 2."""

    def __init__(self, directory: Path) -> None:
        self.origin = directory
        self._problem: PackProblem = validate_file(directory / PROBLEM_FILE, "pack_problem", PackProblem)
        rubric_path = directory / RUBRIC_FILE
        if not rubric_path.is_file():
            raise ProblemFileError(f"{rubric_path}: missing (a pack needs its rubric)")
        self._rubric: Rubric = validate_file(rubric_path, "rubric", Rubric)
        self.reference = _import_reference(directory, self._problem.id)
        if not self.reference.solution.is_file():
            raise ProblemFileError(f"{self.reference.solution}: the pack's solution is missing")

    @property
    def id(self) -> str:
        """The problem id."""
        return self._problem.id

    @property
    def problem(self) -> PackProblem:
        """The problem file."""
        return self._problem

    @property
    def rubric(self) -> Rubric:
        """The rubric."""
        return self._rubric

    @property
    def entry_name(self) -> str:
        """The entry's name."""
        return self._problem.entry.name

    @property
    def corpus(self) -> Path | None:
        """``corpus/`` in the pack, if present."""
        path = self.origin / "corpus"
        return path if (path / "expected.yaml").is_file() else None

    def grade(self, submission: Path, runner: Runner, *, seed: int | None = None, limits: Limits | None = None,
              device: str | None = None) -> Scorecard:
        """Grade with the generic pack engine."""
        from .grade import grade_pack_submission

        return grade_pack_submission(submission, self, runner, seed=seed, limits=limits, device=device)

    def self_check_view(self) -> SpecPack:
        """A copy whose problem has only the visible configurations and no benchmark, and the visible items."""
        view = copy.copy(self)
        configs = visible_configs(self._problem.configs, self._problem.configs[0].name, self.id)
        view._problem = self._problem.model_copy(update={"configs": configs, "benchmark": None})
        view._rubric = visible_rubric(self._rubric)
        return view


def _import_reference(directory: Path, problem_id: str) -> Any:
    """Import the pack's ``reference.py`` as a module of a package named after the pack (relative imports work)."""
    path = directory / REFERENCE_FILE
    if not path.is_file():
        raise ProblemFileError(f"{path}: missing (a pack needs its reference)")
    package = f"harness_pack_{problem_id}_{abs(hash(str(directory.resolve()))):x}"
    if package not in sys.modules:
        spec = importlib.util.spec_from_loader(package, loader=None, is_package=True)
        assert spec is not None
        spec.submodule_search_locations = [str(directory)]
        sys.modules[package] = importlib.util.module_from_spec(spec)
    name = f"{package}.reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ProblemFileError(f"{path}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise ProblemFileError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    reference = getattr(sys.modules[name], "REFERENCE", None)
    from ..kit import Reference

    if not isinstance(reference, Reference):
        raise ProblemFileError(f"{path}: REFERENCE: must be a harness.kit.Reference")
    return reference


class ClassicPack(Pack):
    """A problem file of schema version 1 with its reference package (the module engine grades it)."""

    def __init__(self, loaded: LoadedProblem) -> None:
        self.loaded = loaded
        self.origin = loaded.problem_path
        from ..engine import load_reference

        self.reference = load_reference(loaded.problem.reference, loaded.problem_path)

    @property
    def id(self) -> str:
        """The problem id."""
        return str(self.loaded.problem.id)

    @property
    def problem(self) -> Any:
        """The problem file."""
        return self.loaded.problem

    @property
    def rubric(self) -> Rubric:
        """The rubric."""
        return self.loaded.rubric

    @property
    def entry_name(self) -> str:
        """The class name."""
        return str(self.loaded.problem.interface.class_name)

    @property
    def corpus(self) -> Path | None:
        """The built-in corpus lives in the test suite, not in the installed package."""
        return None

    def grade(self, submission: Path, runner: Runner, *, seed: int | None = None, limits: Limits | None = None,
              device: str | None = None) -> Scorecard:
        """Grade with the module engine."""
        from ..engine import grade_submission

        return grade_submission(submission, self.loaded.problem, self.loaded.rubric, self.reference, runner,
                                seed=seed, limits=limits, device=device)

    def self_check_view(self) -> ClassicPack:
        """A copy whose problem has only the visible configurations and no benchmark, and the visible items."""
        view = copy.copy(self)
        problem = self.loaded.problem
        configs = visible_configs(problem.configs, problem.binding_config, self.id)
        view.loaded = dataclasses.replace(
            self.loaded, problem=problem.model_copy(update={"configs": configs, "benchmark": None}),
            rubric=visible_rubric(self.loaded.rubric))
        return view
