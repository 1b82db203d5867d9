"""Where a batch's grading tasks run: local worker processes, or the tasks of a Ray cluster.

An executor takes grading tasks and reports each one's outcome (the scorecard as JSON text, or the exception that
stopped the task) to a callback in the batch process, which journals it. Executors are registered by name; the
batch never dispatches on the name itself. Tasks carry plain data only, and the scorecard comes back as JSON text.
"""

from __future__ import annotations

import abc
import atexit
import multiprocessing
import os
import pickle
import signal
import socket
import stat
import tempfile
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path
from typing import Any

from runners.base import Runner, create_runner

from .._submission_size import MAX_SUBMISSION_BYTES
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
    max_bytes: int = MAX_SUBMISSION_BYTES
    """The size cap on the submission file (a larger one gets a compile_error scorecard that says so)."""
    self_check: bool = False
    """A student's self-check (``harness check``) rather than a grading: the outcome is a SelfCheck's JSON."""


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
        if stat.S_ISLNK(os.lstat(task.path).st_mode):  # discovery refused links; one swapped in since is refused too
            raise OSError(f"{task.path} became a symbolic link after the batch listed it; links are not followed")
        if task.self_check:
            from ..self_check import self_check

            return self_check(Path(task.path), task.problem, _worker_runner(task.runner),
                              problems_dirs=dirs).model_dump_json()
        card = grade(Path(task.path), task.problem, _worker_runner(task.runner), problems_dirs=dirs, limits=limits,
                     max_submission_bytes=task.max_bytes)
        return card.model_dump_json()
    with tempfile.TemporaryDirectory(prefix="harness-task-") as work:
        local = Path(work) / Path(task.path).name
        local.write_bytes(task.source)
        card = grade(local, task.problem, _worker_runner(task.runner), problems_dirs=dirs, limits=limits,
                     max_submission_bytes=task.max_bytes)
    card = card.model_copy(update={"submission": card.submission.model_copy(update={"path": task.path})})
    return card.model_dump_json()


def _read_source(task: GradeTask) -> bytes:
    """The submission's bytes for a remote worker: no link followed, at most one byte over the cap.

    One byte over is enough for the node to refuse, as too large, a file that grew since discovery.
    """
    descriptor = os.open(task.path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(descriptor, "rb") as stream:
        return stream.read(task.max_bytes + 1)


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


class WorkerDied(Exception):
    """The worker process grading a submission died (killed by the OS, a crash): the outcome of that task only."""


def _portable(error: Exception) -> Exception:
    """The error itself when it survives pickling both ways, else a RuntimeError that keeps its type and text."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - any pickling failure: send the words instead of the object
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _one_thread_per_worker() -> None:
    """The trusted side's torch on one thread: the workers are the parallelism.

    With torch's default of a thread per core in every worker, two workers on two cores oversubscribe them, and
    the idle threads of one spin while the other computes (1.2x for two workers instead of close to 2x).
    """
    import torch

    torch.set_num_threads(1)


def _worker_main(connection: Connection) -> None:
    """A worker process: grade one task at a time as they arrive on ``connection``, until told to stop.

    One task in flight per worker is what lets the batch process tell which submission a dead worker was grading.
    """
    _one_thread_per_worker()
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return  # the batch process is gone
        if task is None:
            return
        try:
            reply: tuple[str, str | Exception] = ("ok", grade_task(task))
        except Exception as exc:  # noqa: BLE001 - a task's failure is its scorecard's business
            reply = ("error", _portable(exc))
        try:
            connection.send(reply)
        except (OSError, ValueError):
            return


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = ", as the out-of-memory killer does" if -code == signal.SIGKILL else ""
        return f"killed by {name}{hint}"
    return f"exit status {code}"


class _Worker:
    """One spawned worker process and the task it holds, if any."""

    def __init__(self, context: SpawnContext) -> None:
        ours, theirs = context.Pipe(duplex=True)
        self.process: SpawnProcess = context.Process(target=_worker_main, args=(theirs,), name="harness-grader")
        self.process.start()
        theirs.close()  # so that our end reads EOF as soon as the worker dies
        self.connection = ours
        self.task: GradeTask | None = None

    def give(self, task: GradeTask) -> bool:
        """Hand over a task; False when the worker cannot take it (it is dead)."""
        self.task = task
        try:
            self.connection.send(task)
        except (OSError, ValueError):
            return False
        return True

    def collect(self) -> tuple[str, str | Exception] | None:
        """The reply to the task in flight, or None when the worker died before giving a whole one."""
        try:
            if self.connection.poll():
                reply: tuple[str, str | Exception] = self.connection.recv()
                return reply
        except (EOFError, OSError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
            pass
        return None

    def exit_description(self) -> str:
        """How the worker ended, once it has (waits briefly for the process to be reaped)."""
        self.process.join(timeout=5)
        return _describe_exit(self.process.exitcode)

    def stop(self, deadline: float) -> None:
        """Ask the worker to exit (its runners close at its exit); kill it if it has not by ``deadline``."""
        try:
            self.connection.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=max(0.0, deadline - time.monotonic()))
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.connection.close()


@register_executor("process")
class ProcessExecutor(Executor):
    """Local worker processes (spawned, never forked: the batch process runs torch), one task in flight each.

    A worker that dies (the OS kills it for memory, a crash in the trusted grading code) costs only the task it
    held: that task is run once more in a fresh worker, and if that worker dies too the task's outcome is
    :class:`WorkerDied`. Every other task is unaffected, and the dead worker is replaced.
    """

    attempts = 2
    """How many workers a task may be in when they die before it is given up as WorkerDied."""
    shutdown_s = 30.0

    def __init__(self, workers: int = 2, address: str | None = None, **_resources: Any) -> None:
        if address is not None:
            raise ExecutorUnavailable("an address is for a cluster executor (--executor ray), not local processes")
        self.workers = max(1, workers)

    def run(self, tasks: list[GradeTask], finish: Finish) -> None:
        """Grade every task in at most ``workers`` processes; see the class docstring for a worker's death."""
        context = multiprocessing.get_context("spawn")
        queue: deque[GradeTask] = deque(tasks)
        deaths: dict[int, list[str]] = {}  # by id of the task: how each worker that held it ended
        workers: list[_Worker] = []
        try:
            while queue or any(worker.task is not None for worker in workers):
                for worker in [w for w in workers if w.task is None]:
                    if queue and not worker.give(queue.popleft()):
                        self._lost(worker, workers, queue, deaths, finish)
                while queue and len(workers) < self.workers:
                    worker = _Worker(context)
                    workers.append(worker)
                    if not worker.give(queue.popleft()):
                        self._lost(worker, workers, queue, deaths, finish)
                busy = [w for w in workers if w.task is not None]
                if not busy:
                    continue
                ready = set(wait([w.connection for w in busy] + [w.process.sentinel for w in busy]))
                for worker in busy:
                    if worker.connection not in ready and worker.process.sentinel not in ready:
                        continue
                    reply = worker.collect()
                    if reply is None:
                        self._lost(worker, workers, queue, deaths, finish)
                        continue
                    task, worker.task = worker.task, None
                    assert task is not None
                    if not worker.process.is_alive():  # it answered, then died: retire it, blame no task
                        workers.remove(worker)
                        worker.stop(time.monotonic())
                    finish(task, reply[1] if reply[0] == "ok" else _as_error(reply[1]))
        finally:
            deadline = time.monotonic() + self.shutdown_s
            for worker in workers:
                if worker.task is not None:  # only when the batch itself is failing (an interrupt): do not wait
                    worker.process.kill()
                worker.stop(deadline)

    def _lost(self, worker: _Worker, workers: list[_Worker], queue: deque[GradeTask], deaths: dict[int, list[str]],
              finish: Finish) -> None:
        """A worker died holding a task: retire it, and run the task again elsewhere or give it up."""
        task, worker.task = worker.task, None
        workers.remove(worker)
        how = worker.exit_description()
        worker.stop(time.monotonic())
        assert task is not None
        history = deaths.setdefault(id(task), [])
        history.append(how)
        if len(history) < self.attempts:
            queue.appendleft(task)  # next, in a fresh worker: its neighbours already have theirs
            return
        finish(task, WorkerDied(f"the grading worker process died while grading this submission, in each of the "
                                f"{len(history)} workers that tried it ({'; '.join(history)})"))


def _as_error(value: str | Exception) -> BaseException:
    return value if isinstance(value, BaseException) else RuntimeError(str(value))



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
            queue = []
            for task in tasks:
                try:
                    queue.append(replace(task, source=_read_source(task)))
                except OSError as exc:  # swapped for a link, or gone, since discovery: that submission's outcome
                    finish(task, exc)
            pending: dict[Any, GradeTask] = {}
            while queue or pending:
                while queue and len(pending) < self.in_flight:
                    task = queue.pop(0)
                    pending[remote.remote(task)] = task
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    task = pending.pop(ref)
                    outcome: str | BaseException
                    try:
                        outcome = ray.get(ref)
                    except Exception as exc:  # noqa: BLE001 - a lost worker or node is that task's internal error
                        outcome = exc
                    finish(task, outcome)  # may stop the batch: that must not be taken for the task's failure
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
