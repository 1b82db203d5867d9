"""The hostile corpus: submissions that attack the grader, graded by the real local sandbox.

Each ``tests/hostile/<stem>.py`` is a submission whose docstring names its attack; ``expected.yaml`` says what a
careful grader makes of it. Placeholders (``{{MARKER_DIR}}``, ``{{SECRET_FILE}}``, ``{{REFERENCE_FILE}}``,
``{{PORT}}``) are filled in per test. Besides the expected verdict, every case is checked for what no submission may
ever achieve: reaching a server on the host's loopback, leaving files on the host, leaving processes, cgroups or
scratch directories behind, leaking secrets into the scorecard, bloating it, or killing or hanging the grader.

Grading runs in a separate, long-lived Python process (the "grading host", started in its own session): a
submission that kills its parent then kills that process, which the test reports, instead of the pytest run.
Its ``TMPDIR`` is private, so scratch directories and writes to the scratch's parent are attributable to this
module even while other sandboxes run on the machine; cgroups are attributed by the grading host's pid in their name.

Run as a script (``python -m tests.hostile.test_hostile --serve``), this module is that grading host.
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

# `hostile` must be registered in pyproject.toml's markers (the suite runs with --strict-markers).
pytestmark = [pytest.mark.slow, pytest.mark.hostile]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((HERE / "expected.yaml").read_text())
STEMS = sorted(EXPECTED)
NOT_SUBMISSIONS = {"__init__", "test_hostile"}

LIMITS = {"wall_s": 30, "probe_s": 8, "startup_s": 30, "memory_mb": 768, "processes": 64, "output_kb": 64}
SEED = 20261123
GRACE_S = 15  # the whole grade must return within wall_s + GRACE_S
HUNG_S = LIMITS["wall_s"] + GRACE_S + 45  # after this the grading host is considered hung and killed
MAX_SCORECARD_BYTES = 400 * 1024

SECRET_TEXT = "SECRET-CONTENT-42"
SECRET_NAME = "hostile-secret-file.txt"
ENV_NAME, ENV_VALUE = "HARNESS_HOSTILE_SECRET", "hunter2"
PROC_MARKER = "HOSTILE-PROC-MARKER"  # every process an attack execs carries it in its command line
OUTPUT_PREFIX = "HOSTILE_OUT_"  # every file an attack writes is named like this
RUNNER_OPTIONS_ENV = "HARNESS_HOSTILE_RUNNER_OPTIONS"  # JSON keyword arguments of the local runner (default none)
ITEM_VERDICTS = {"passed", "failed", "partial", "skipped", "error"}


def _reference_file() -> Path:
    """The reference's source file, where the harness imports it from (never in the sandbox)."""
    import reference_solutions.mhsa.functional as functional

    return Path(functional.__file__).resolve()


def _leak_signatures() -> dict[str, str]:
    """Strings that may never appear in a scorecard: secrets of the host, as the host sees them."""
    signatures = {"secret file": SECRET_TEXT, "environment secret": ENV_VALUE}
    reference_lines = [line.strip() for line in _reference_file().read_text().splitlines()]
    signatures["reference source"] = reference_lines[0].strip('"')
    with contextlib.suppress(OSError):
        first = Path("/etc/shadow").read_text().splitlines()[0]
        if len(first) >= 10:
            signatures["/etc/shadow"] = first
    return signatures


# ---------------------------------------------------------------------------------------------- the grading host


def _serve() -> int:
    """The grading host: one JSON request per stdin line, one JSON reply per line on the original stdout."""
    from harness.api import grade
    from harness.models.problem import Limits
    from runners import create_runner

    # Opt-in, for checking that this module's detectors do fire: e.g. '{"use_bwrap": false}' grades with the weaker
    # fallback sandbox, which several cases must then fail.
    options = json.loads(os.environ.get(RUNNER_OPTIONS_ENV) or "{}")
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the harness prints goes to the log, never into the protocol
    for line in sys.stdin:
        request = json.loads(line)
        for key, value in request["env"].items():
            os.environ[key] = value
        seconds = 0.0
        try:
            runner_options = dict(options)
            with create_runner(runner_options.pop("runner", "local"), **runner_options) as runner:
                limits = Limits(**request["limits"])
                neighbour = request.get("neighbour")
                if neighbour:
                    # An honest submission before and after the attack on the same runner (the same warm zygote or
                    # pool container), as in a batch: what it reports after must be what it reported before.
                    before = grade(neighbour["path"], "mhsa", runner, seed=request["seed"] + 1, limits=limits)
                    Path(neighbour["before"]).write_text(before.model_dump_json(indent=1))
                started = time.monotonic()
                scorecard = grade(request["path"], "mhsa", runner, seed=request["seed"], limits=limits)
                seconds = time.monotonic() - started
                Path(request["out"]).write_text(scorecard.model_dump_json(indent=1))
                if neighbour:
                    after = grade(neighbour["path"], "mhsa", runner, seed=request["seed"] + 1, limits=limits)
                    Path(neighbour["out"]).write_text(after.model_dump_json(indent=1))
            reply: dict[str, Any] = {"ok": True}
        except BaseException as exc:  # noqa: BLE001 - reported to the test, which decides
            reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        finally:
            for key in request["env"]:
                os.environ.pop(key, None)
        reply["seconds"] = round(seconds, 3)
        replies.write(json.dumps(reply) + "\n")
    return 0


class HostDied(Exception):
    """The grading host exited (or was killed) while grading."""


class HostHung(Exception):
    """The grading host did not answer within HUNG_S."""


class GradingHost:
    """Starts the grading host on demand and talks to it; restarts it after it died."""

    def __init__(self, tmpdir: Path, log: Path, options: dict[str, Any], mode: str = "warm") -> None:
        self.tmpdir = tmpdir
        self.log = log
        self.options = options
        self.mode = mode
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def ensure(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        env = dict(os.environ, TMPDIR=str(self.tmpdir), PYTHONUNBUFFERED="1")
        if RUNNER_OPTIONS_ENV not in os.environ:  # an explicit (weaker) choice of the person running the tests wins
            env[RUNNER_OPTIONS_ENV] = json.dumps(self.options)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.hostile.test_hostile", "--serve"],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )

    def grade(
        self, path: Path, out: Path, env: dict[str, str], neighbour: tuple[Path, Path] | None = None
    ) -> dict[str, Any]:
        self.ensure()
        assert self.process is not None and self.process.stdin and self.process.stdout
        request: dict[str, Any] = {"path": str(path), "out": str(out), "seed": SEED, "limits": LIMITS, "env": env}
        if neighbour is not None:
            request["neighbour"] = {"path": str(neighbour[0]), "out": str(neighbour[1]),
                                    "before": str(neighbour[1].with_suffix(".before.json"))}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
        except BrokenPipeError as exc:
            raise HostDied(self._death()) from exc
        ready, _, _ = select.select([self.process.stdout], [], [], HUNG_S)
        if not ready:
            self.kill()
            raise HostHung(f"no answer within {HUNG_S} s; the grading host was killed")
        line = self.process.stdout.readline()
        if not line:
            raise HostDied(self._death())
        return json.loads(line)  # type: ignore[no-any-return]

    def _death(self) -> str:
        assert self.process is not None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        code = self.process.returncode
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
        return f"the grading host died ({how}); log tail:\n{tail}"

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


# Every attack is graded by the local runner warm (the child forked from a zygote) and cold (a fresh interpreter),
# and in containers by the docker runner, fresh and pooled (where an engine can be had: see tests/docker_engine.py).
HOST_MODES: dict[str, dict[str, Any]] = {
    "warm": {"warm": True},
    "cold": {"warm": False},
    "docker": {"runner": "docker"},
    "docker-pool": {"runner": "docker-pool"},
}
_IN_DOCKER = ("docker", "docker-pool")
# Where one submission's child is forked from a process that outlives it, so that a neighbour could meet what an
# attack left: the neighbour check runs there (a fresh interpreter or container shares nothing by construction).
_SHARED_BETWEEN_SUBMISSIONS = ("warm", "docker-pool")


@pytest.fixture(
    scope="module", params=["cold", "warm", *(pytest.param(mode, marks=pytest.mark.docker) for mode in _IN_DOCKER)]
)
def grading_host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param in _IN_DOCKER:
        request.getfixturevalue("docker_engine")  # the grading host inherits the engine's address and image
    base = tmp_path_factory.mktemp(f"hostile-host-{request.param}")
    tmpdir = base / "tmp"
    tmpdir.mkdir()
    host = GradingHost(tmpdir, base / "grading-host.log", HOST_MODES[request.param], request.param)
    yield host
    host.close()


# ------------------------------------------------------------------------------------------- the loopback server


class LoopbackServer:
    """Listens on 127.0.0.1 (random port) in a thread for at most ``lifetime`` seconds, recording every connection."""

    def __init__(self, lifetime: float = HUNG_S + 30) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections: list[tuple[Any, bytes]] = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + lifetime
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                try:
                    connection, peer = self.socket.accept()
                except TimeoutError:
                    continue
                except OSError:
                    break
                with connection:
                    connection.settimeout(0.5)
                    try:
                        data = connection.recv(4096)
                    except OSError:
                        data = b""
                self.connections.append((peer, data))
        finally:
            self.socket.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


# ------------------------------------------------------------------------------------------------ host inspection


def _processes_of(host_pid: int) -> list[tuple[int, str]]:
    """Processes left by attacks: a marker in the command line, or membership of one of the host's run cgroups."""
    found = []
    mine = f"/harness-{host_pid}-"
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cgroups = Path(f"/proc/{entry}/cgroup").read_text()
        except OSError:
            continue
        if PROC_MARKER in cmdline or mine in cgroups:
            found.append((int(entry), cmdline.strip()[:200]))
    return found


def _cgroups_of(host_pid: int) -> list[str]:
    return sorted(
        glob.glob(f"/sys/fs/cgroup/*/harness/harness-{host_pid}-*")
        + glob.glob(f"/sys/fs/cgroup/*/docker/*/harness-{host_pid}-*")
    )  # a pool container's children


def _attack_outputs(places: list[Path], recursive: list[Path]) -> list[Path]:
    found: list[Path] = []
    for place in places:
        with contextlib.suppress(OSError):
            found += [p for p in place.iterdir() if p.name.startswith(OUTPUT_PREFIX)]
    for place in recursive:
        found += [p for p in place.rglob(f"{OUTPUT_PREFIX}*")]
    return sorted(set(found))


def _mounted_under(path: Path) -> list[str]:
    with contextlib.suppress(OSError):
        return [
            line.split()[4]
            for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if line.split()[4].startswith(str(path))
        ]
    return []


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def _clean_up(
    processes: list[tuple[int, str]], cgroups: list[str], mounts: list[str], files: list[Path], scratches: list[Path]
) -> None:
    """Undo what an attack left behind, so that one failure does not cascade into the next cases."""
    libc = ctypes.CDLL(None, use_errno=True)
    for mount in sorted(mounts, key=len, reverse=True):
        libc.umount2(os.fsencode(mount), 2)  # MNT_DETACH
    for pid, _ in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    for cgroup in cgroups:
        with contextlib.suppress(OSError):
            for pid in Path(cgroup, "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(pid), signal.SIGKILL)
        time.sleep(0.1)
        with contextlib.suppress(OSError):
            Path(cgroup, "freezer.state").write_text("THAWED")
        with contextlib.suppress(OSError):
            os.rmdir(cgroup)
    for path in [*files, *scratches]:
        _remove(path)


def _wait_until_empty(find, timeout: float = 2.0) -> list:
    """Poll a leftover finder briefly: the run's kill sweep may still be finishing when the scorecard is out."""
    deadline = time.monotonic() + timeout
    while True:
        found = find()
        if not found or time.monotonic() > deadline:
            return found  # type: ignore[no-any-return]
        time.sleep(0.1)


# --------------------------------------------------------------------------------------------- the PID-namespace gate

CANARY = '''"""Canary: reports the sandbox's PID namespace and uid."""
import os

import torch.nn as nn

print(f"PIDNS={os.readlink('/proc/self/ns/pid')}; UID={os.getuid()};")


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()

    def forward(self, x):
        return x
'''
_GATE: dict[str, str | None] = {}


def _pid_namespace_problem(host: GradingHost, tmp_path: Path) -> str | None:
    """Why an attack that signals every process it can see would hurt this machine; None when it cannot."""
    if "answer" not in _GATE:
        canary = tmp_path / "canary" / "canary.py"
        canary.parent.mkdir()
        canary.write_text(CANARY)
        out = tmp_path / "canary.json"
        reply = host.grade(canary, out, {})
        stdout = json.loads(out.read_text())["logs"]["stdout"] if reply.get("ok") else ""
        inside = stdout.split("PIDNS=", 1)[1].split(";", 1)[0] if "PIDNS=" in stdout else None
        if inside is None:
            _GATE["answer"] = f"the canary did not report its PID namespace ({reply}, stdout {stdout[:200]!r})"
        elif inside == os.readlink("/proc/self/ns/pid"):
            _GATE["answer"] = (
                f"the sandbox shares the host's PID namespace ({inside}); kill(-1, SIGKILL) from it "
                "would reach processes outside the sandbox, so the attack was not run"
            )
        else:
            _GATE["answer"] = None
    return _GATE["answer"]


# ------------------------------------------------------------------------------------------------------- neighbours

# Graded right after an attack marked `neighbour: true`, by the same runner: an honest submission that looks for
# anything the attack left where a later submission could meet it, and must get full marks.
NEIGHBOUR = '''"""Neighbour: an honest submission graded right after an attack, on the same runner."""
import math
import os

import torch
import torch.nn as nn

for place in ("/tmp", "/dev", "/dev/shm", ".", os.environ.get("TMPDIR", "/tmp")):
    try:
        names = os.listdir(place)
    except OSError:
        continue
    for name in names:
        if "HOSTILE" in name:
            print(f"NEIGHBOUR-SAW {place}/{name}", flush=True)
with open("/proc/self/oom_score_adj") as handle:
    print(f"NEIGHBOUR-OOM-SCORE-ADJ={handle.read().strip()}", flush=True)
with open("/proc/self/coredump_filter") as handle:
    print(f"NEIGHBOUR-COREDUMP-FILTER={handle.read().strip()}", flush=True)


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.heads = num_heads
        self.q = nn.Linear(embed_dim, embed_dim)
        self.k = nn.Linear(embed_dim, embed_dim)
        self.v = nn.Linear(embed_dim, embed_dim)
        self.o = nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        seq, batch, embed = x.shape
        d = embed // self.heads

        def split(t):
            return t.reshape(seq, batch * self.heads, d).transpose(0, 1)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        weights = torch.softmax(q @ k.transpose(1, 2) / math.sqrt(d), dim=-1)
        return self.o((weights @ v).transpose(0, 1).reshape(seq, batch, embed))
'''


def _neighbour_problems(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What an attack did to the honest submission graded after it on the same runner (``before``: graded first)."""
    problems = []
    for label, card in (("before", before), ("after", after)):
        if card["status"] != "graded" or card["score"] != pytest.approx(100):
            problems.append(f"the neighbour {label} the attack got {card['status']} {card['score']}: {card['message']}")

    def reported(card: dict[str, Any]) -> dict[str, str]:
        lines = card["logs"]["stdout"].splitlines()
        return dict(line.partition("=")[::2] for line in lines if line.startswith("NEIGHBOUR-") and "=" in line)

    for line in after["logs"]["stdout"].splitlines():
        if line.startswith("NEIGHBOUR-SAW"):
            problems.append(f"the neighbour found what the attack left: {line}")
    baseline, now = reported(before), reported(after)
    if not baseline:
        problems.append("the neighbour reported nothing (did it run?)")
    for key, value in baseline.items():
        if now.get(key) != value:
            problems.append(f"the neighbour inherited {key}={now.get(key)} (before the attack: {value})")
    return problems


# ------------------------------------------------------------------------------------------------------- the tests


def test_every_hostile_file_has_an_expectation():
    files = {path.stem for path in HERE.glob("*.py")} - NOT_SUBMISSIONS
    assert files == set(STEMS)
    assert len(files) >= 20
    for stem in STEMS:
        source = (HERE / f"{stem}.py").read_text()
        docstring = source.splitlines()[0]
        assert docstring.startswith('"""') and docstring.endswith('"""'), f"{stem}: one-line docstring first"
        expectation = EXPECTED[stem]
        assert expectation["status"] in {
            "graded",
            "compile_error",
            "interface_error",
            "runtime_error",
            "timeout",
            "memory_limit",
            "internal_error",
        }
        assert set(expectation.get("items", {}).values()) <= ITEM_VERDICTS


def _check_scorecard(stem: str, card: dict[str, Any], text: str, expectation: dict[str, Any]) -> list[str]:
    problems = []
    items = {item["id"]: item for item in card["items"]}
    logs = card["logs"]
    if card["status"] != expectation["status"]:
        problems.append(f"status: expected {expectation['status']}, got {card['status']} ({card['message']})")
    score = card["score"]
    if "score" in expectation and score != pytest.approx(expectation["score"]):
        failed = {i: items[i]["status"] for i in items if items[i]["status"] != "passed"}
        problems.append(f"score: expected {expectation['score']}, got {score} (not passed: {failed})")
    if "min_score" in expectation and score < expectation["min_score"]:
        problems.append(f"score: expected at least {expectation['min_score']}, got {score}")
    if "max_score" in expectation and score > expectation["max_score"]:
        passed = sorted(i for i in items if items[i]["status"] == "passed")
        problems.append(f"score: expected at most {expectation['max_score']}, got {score} (passed: {passed})")
    for item_id, want in expectation.get("items", {}).items():
        got = items[item_id]["status"] if item_id in items else "missing"
        if got != want:
            feedback = items[item_id]["feedback"][:300] if item_id in items else ""
            problems.append(f"item {item_id}: expected {want}, got {got}: {feedback}")
    diagnoses = {d["id"] for d in card.get("diagnoses", [])}
    for wanted in expectation.get("diagnoses_include", []):
        if wanted not in diagnoses:
            problems.append(f"diagnosis {wanted} missing (got {sorted(diagnoses)})")
    for needle in expectation.get("stdout_must_contain", []):
        if needle not in logs["stdout"]:
            problems.append(f"stdout lacks {needle!r} (the attack did not run as designed?): {logs['stdout'][:300]!r}")
    for needle in expectation.get("stdout_must_not_contain", []):
        for stream in ("stdout", "stderr"):
            if needle in logs[stream]:
                at = logs[stream].index(needle)
                problems.append(f"{stream} contains {needle!r}: ...{logs[stream][max(0, at - 80) : at + 160]!r}...")
    if "truncated" in expectation and logs["truncated"] != expectation["truncated"]:
        problems.append(f"logs.truncated: expected {expectation['truncated']}, got {logs['truncated']}")
    for what, signature in _leak_signatures().items():
        if signature in text:
            problems.append(f"the scorecard leaks the {what} ({signature[:40]!r})")
    if len(text.encode()) > MAX_SCORECARD_BYTES:
        problems.append(f"scorecard is {len(text.encode())} bytes (limit {MAX_SCORECARD_BYTES})")
    return problems


def _sandbox_containers() -> list[str]:
    """Containers of the docker runner that still exist (when the docker tests have an engine)."""
    base_url = os.environ.get("HARNESS_DOCKER_HOST")
    if not base_url:
        return []
    import docker

    client = docker.DockerClient(base_url=base_url)
    return [c.name for c in client.containers.list(all=True, filters={"label": "mlgrade-harness"})]


@pytest.mark.parametrize("stem", STEMS)
def test_hostile_submission(
    stem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, grading_host: GradingHost
) -> None:
    expectation = EXPECTED[stem]
    if expectation.get("requires_pid_namespace"):
        reason = _pid_namespace_problem(grading_host, tmp_path)
        if reason is not None:
            pytest.fail(f"{stem}: missing defence: {reason}")

    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    secret = tmp_path / SECRET_NAME
    secret.write_text(SECRET_TEXT + "\n")
    server = LoopbackServer()
    source = (HERE / f"{stem}.py").read_text()
    for key, value in {
        "MARKER_DIR": str(marker_dir),
        "SECRET_FILE": str(secret),
        "REFERENCE_FILE": str(_reference_file()),
        "PORT": str(server.port),
    }.items():
        source = source.replace("{{" + key + "}}", value)
    assert "{{" not in source, f"{stem}: unknown placeholder"
    submission = tmp_path / "submission" / f"{stem}.py"
    submission.parent.mkdir()
    submission.write_text(source)
    out = tmp_path / "scorecard.json"
    neighbour: tuple[Path, Path] | None = None
    if expectation.get("neighbour") and grading_host.mode in _SHARED_BETWEEN_SUBMISSIONS:
        neighbour = (tmp_path / "neighbour" / "neighbour.py", tmp_path / "neighbour.json")
        neighbour[0].parent.mkdir()
        neighbour[0].write_text(NEIGHBOUR)
    monkeypatch.setenv(ENV_NAME, ENV_VALUE)

    host_tmp = grading_host.tmpdir
    watched = [Path("/tmp"), host_tmp, ROOT, Path.home(), Path("/")]
    for stale in _attack_outputs(watched, [host_tmp]):  # left by an earlier, interrupted run of this module
        _remove(stale)

    problems: list[str] = []
    reply: dict[str, Any] = {}
    grading_host.ensure()
    host_pid = grading_host.pid
    try:
        try:
            reply = grading_host.grade(submission, out, {ENV_NAME: os.environ[ENV_NAME]}, neighbour)
        except (HostDied, HostHung) as exc:
            problems.append(f"grading host: {exc}")
    finally:
        server.stop()
        processes = _wait_until_empty(lambda: _processes_of(host_pid))
        cgroups = _wait_until_empty(lambda: _cgroups_of(host_pid))
        mounts = _mounted_under(tmp_path)
        files = _attack_outputs(watched, [tmp_path, host_tmp])
        in_marker_dir = [p for p in marker_dir.iterdir()] if not mounts else []
        scratches = sorted(
            [*host_tmp.glob("harness-sandbox-*"), *host_tmp.glob("harness-docker-*"), *host_tmp.glob("harness-pool-*")]
        )
        containers = _sandbox_containers()
        _clean_up(processes, cgroups, mounts, [*files, *in_marker_dir], scratches)

    if server.connections:
        problems.append(f"the loopback server was reached: {server.connections}")
    if processes:
        problems.append(f"processes left behind: {processes}")
    if cgroups:
        problems.append(f"cgroups left behind: {cgroups}")
    if mounts:
        problems.append(f"mounted on the host: {mounts}")
    if files or in_marker_dir:
        problems.append(f"files written on the host: {sorted({str(p) for p in [*files, *in_marker_dir]})}")
    if scratches:
        problems.append(f"scratch directories left behind: {[str(s) for s in scratches]}")
    if containers:
        problems.append(f"containers left behind: {containers}")
    if reply:
        if not reply.get("ok"):
            problems.append(f"grade() raised: {reply.get('error')}")
        if reply.get("seconds", 0) > LIMITS["wall_s"] + GRACE_S:
            problems.append(f"grading took {reply['seconds']} s (limit {LIMITS['wall_s'] + GRACE_S} s)")
    if reply.get("ok"):
        text = out.read_text()
        problems += _check_scorecard(stem, json.loads(text), text, expectation)
        if neighbour is not None:
            before_card = neighbour[1].with_suffix(".before.json")
            if neighbour[1].exists() and before_card.exists():
                before, after = (json.loads(path.read_text()) for path in (before_card, neighbour[1]))
                problems += _neighbour_problems(before, after)
            else:
                problems.append("the neighbour was not graded")
    assert not problems, f"{stem}:\n  - " + "\n  - ".join(problems)


if __name__ == "__main__" and "--serve" in sys.argv:
    sys.exit(_serve())
