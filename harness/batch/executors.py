"""Where a batch's grading tasks run: local worker processes, or the tasks of a Ray cluster.

An executor takes grading tasks and reports each one's outcome (the scorecard as JSON text, or the exception that
stopped the task) to a callback in the batch process, which journals it. Executors are registered by name; the
batch never dispatches on the name itself. Tasks carry plain data only, and the scorecard comes back as JSON text.
"""

from __future__ import annotations

import abc
import atexit
import multiprocessing
import socket
import tempfile
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runners.base import Runner, create_runner

from ..api import grade
from ..models import Scorecard
from ..models.problem import Limits


@dataclass(frozen=True)
class GradeTask:
    """One submission to grade, as plain data that any worker, local or remote, can act on."""

    student: str
    path: str
    problem: str
    runner: str
    problems_dirs: tuple[str, ...]
    limits_json: str | None
    source: bytes | None = None
    """The submission's bytes, for workers that may not see the batch machine's files (Ray nodes)."""


Finish = Callable[[GradeTask, "str | BaseException"], None]

_worker_runners: dict[str, Runner] = {}


def _worker_runner(name: str) -> Runner:
    """The runner this worker process keeps for all its submissions (a warm local runner keeps its zygote)."""
    if name not in _worker_runners:
        _worker_runners[name] = create_runner(name)
        atexit.register(_worker_runners[name].close)
    return _worker_runners[name]


def grade_task(task: GradeTask) -> str:
    """In a worker: grade one submission, return its scorecard as JSON text."""
    limits = Limits.model_validate_json(task.limits_json) if task.limits_json else None
    dirs = [Path(d) for d in task.problems_dirs]
    if task.source is None:
        card = grade(Path(task.path), task.problem, _worker_runner(task.runner), problems_dirs=dirs, limits=limits)
        return card.model_dump_json()
    with tempfile.TemporaryDirectory(prefix="harness-task-") as work:
        local = Path(work) / Path(task.path).name
        local.write_bytes(task.source)
        card = grade(local, task.problem, _worker_runner(task.runner), problems_dirs=dirs, limits=limits)
    card = card.model_copy(update={"submission": card.submission.model_copy(update={"path": task.path})})
    return card.model_dump_json()


class ExecutorUnavailable(Exception):
    """The executor cannot run here (a missing optional package, an unreachable cluster)."""


class Executor(abc.ABC):
    """Runs grading tasks and reports each outcome, in completion order, from the calling thread."""

    @abc.abstractmethod
    def run(self, tasks: list[GradeTask], finish: Finish) -> None:
        """Run every task; call ``finish`` exactly once per task. Must not raise for a task's failure."""


_EXECUTORS: dict[str, Callable[..., Executor]] = {}


def register_executor(name: str) -> Callable[[type[Executor]], type[Executor]]:
    """Class decorator: make an executor available by name."""

    def decorate(cls: type[Executor]) -> type[Executor]:
        _EXECUTORS[name] = cls
        return cls

    return decorate


def executor_names() -> list[str]:
    """Names of the registered executors."""
    return sorted(_EXECUTORS)


def create_executor(name: str, **options: Any) -> Executor:
    """Instantiate the executor registered as ``name``."""
    if name not in _EXECUTORS:
        raise ExecutorUnavailable(f"unknown executor {name!r}; known executors: {', '.join(executor_names())}")
    return _EXECUTORS[name](**options)


@register_executor("process")
class ProcessExecutor(Executor):
    """Local worker processes (spawned, never forked: the batch process runs torch), restarted if the pool breaks."""

    def __init__(self, workers: int = 2, address: str | None = None, **_resources: Any) -> None:
        if address is not None:
            raise ExecutorUnavailable("an address is for a cluster executor (--executor ray), not local processes")
        self.workers = workers

    def run(self, tasks: list[GradeTask], finish: Finish) -> None:
        """Grade in a pool of ``workers`` processes; tasks lost with a broken pool are run again in a new one."""
        if self.workers <= 1 or len(tasks) <= 1:
            self._run_here(tasks, finish)
            return
        queue = list(tasks)
        context = multiprocessing.get_context("spawn")
        while queue:
            with ProcessPoolExecutor(max_workers=self.workers, mp_context=context) as pool:
                futures: dict[Future[str], GradeTask] = {}
                broken = False
                while (queue or futures) and not broken:
                    while queue and len(futures) < 2 * self.workers:
                        task = queue.pop(0)
                        futures[pool.submit(grade_task, task)] = task
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = futures.pop(future)
                        try:
                            finish(task, future.result())
                        except BrokenProcessPool as exc:
                            broken = True
                            finish(task, exc)
                        except Exception as exc:  # noqa: BLE001 - a task's failure is its scorecard's business
                            finish(task, exc)
                if broken:  # the others in flight were lost with the pool: grade them again in a fresh one
                    queue = list(futures.values()) + queue

    @staticmethod
    def _run_here(tasks: list[GradeTask], finish: Finish) -> None:
        for task in tasks:
            try:
                finish(task, grade_task(task))
            except Exception as exc:  # noqa: BLE001 - one submission never sinks the batch
                finish(task, exc)


@register_executor("ray")
class RayExecutor(Executor):
    """Tasks on a Ray cluster: each grades one submission in its node's local sandbox.

    Every node needs this package installed (with the problems it grades); submissions travel with their tasks, so
    nodes need no shared filesystem. ``num_cpus`` and ``num_gpus`` are each task's resource request.
    """

    def __init__(self, address: str | None = None, workers: int = 2, num_cpus: float = 1.0,
                 num_gpus: float = 0.0) -> None:
        try:
            import ray
        except ImportError as exc:
            raise ExecutorUnavailable("the ray executor needs Ray: pip install 'mlgrade-harness[ray]'") from exc
        self.ray = ray
        self.address = address
        self.in_flight = max(1, workers) * 2
        self.num_cpus = num_cpus
        self.num_gpus = num_gpus

    def _check_reachable(self, timeout: float = 10.0) -> None:
        """Fail fast on a HOST:PORT nobody listens at (Ray itself retries for minutes before giving up)."""
        if self.address is None or ":" not in self.address or "://" in self.address:
            return
        host, _, port = self.address.rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as exc:
            raise ExecutorUnavailable(f"cannot connect to the Ray cluster at {self.address}: {exc}") from exc

    def run(self, tasks: list[GradeTask], finish: Finish) -> None:
        """Submit the tasks (a bounded number at a time) and journal each result as it arrives."""
        ray = self.ray
        self._check_reachable()
        try:
            ray.init(address=self.address, log_to_driver=False, include_dashboard=False)
        except Exception as exc:  # noqa: BLE001 - Ray raises several types for an unreachable cluster
            raise ExecutorUnavailable(f"cannot connect to the Ray cluster at {self.address or 'a new local one'}: "
                                      f"{exc}") from exc
        try:
            remote = ray.remote(grade_task).options(num_cpus=self.num_cpus, num_gpus=self.num_gpus, max_retries=1)
            queue = [replace(task, source=Path(task.path).read_bytes()) for task in tasks]
            pending: dict[Any, GradeTask] = {}
            while queue or pending:
                while queue and len(pending) < self.in_flight:
                    task = queue.pop(0)
                    pending[remote.remote(task)] = task
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    try:
                        finish(task, ray.get(ref))
                    except Exception as exc:  # noqa: BLE001 - a lost worker or node is that task's internal error
                        finish(task, exc)
        finally:
            ray.shutdown()


def scorecard_of(outcome: str | BaseException) -> Scorecard | BaseException:
    """The scorecard a task returned, or the exception that stands for it."""
    if isinstance(outcome, BaseException):
        return outcome
    try:
        return Scorecard.model_validate_json(outcome)
    except ValueError as exc:
        return exc
