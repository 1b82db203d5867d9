"""The Ray executor against a real local Ray cluster: a head node and a worker node started on loopback.

The same batch is graded with local worker processes and with Ray; statuses and scores must be identical, and
every scorecard must name the submission by its path on the batch machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import corpus_file

ray = pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")

pytestmark = [pytest.mark.ray, pytest.mark.slow]

MIX = ["correct_separate_linear_bias", "mistake_no_scale", "mistake_softmax_over_queries", "broken_forward_raises",
       "broken_syntax_error", "correct_packed_in_proj"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ray_command() -> list[str]:
    executable = shutil.which("ray") or str(Path(sys.executable).with_name("ray"))
    return [executable]


class LocalCluster:
    """A head and a worker node, each a blocking `ray start` in its own session, killed as a group afterwards."""

    def __init__(self, temp_dir: Path) -> None:
        self.port = _free_port()
        self.address = f"127.0.0.1:{self.port}"
        env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
        common = ["--block", "--num-cpus=1", "--disable-usage-stats"]
        self.head = subprocess.Popen(
            [*_ray_command(), "start", "--head", f"--port={self.port}", "--node-ip-address=127.0.0.1",
             "--include-dashboard=false", f"--temp-dir={temp_dir}", *common],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._wait_for_nodes(1)
        self.worker = subprocess.Popen(
            [*_ray_command(), "start", f"--address={self.address}", "--node-ip-address=127.0.0.1", *common],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self._wait_for_nodes(2)

    def _wait_for_nodes(self, count: int, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        probe = ("import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False); "
                 "print(sum(1 for n in ray.nodes() if n['Alive']))")
        while time.monotonic() < deadline:
            done = subprocess.run([sys.executable, "-c", probe, self.address], capture_output=True, text=True,
                                  env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
            if done.returncode == 0 and done.stdout.strip().splitlines()[-1:] == [str(count)]:
                return
            time.sleep(1.0)
        raise RuntimeError(f"the local Ray cluster did not reach {count} nodes in {timeout:g} s")

    def stop(self) -> None:
        for process in (self.worker, self.head):
            if process is None:
                continue
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    process.wait(15)
                    break
                except subprocess.TimeoutExpired:
                    continue


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    # Ray's socket paths must stay short: a short directory of our own under /tmp.
    temp_dir = Path(f"/tmp/harness-ray-{os.getpid()}")
    running = LocalCluster(temp_dir)
    try:
        yield running
    finally:
        running.stop()
        shutil.rmtree(temp_dir, ignore_errors=True)


def _batch(source: Path, out: Path, *extra: str) -> dict[str, dict[str, object]]:
    done = subprocess.run([sys.executable, "-m", "harness", "batch", str(source), "--problem", "mhsa", "--out",
                           str(out), "--workers", "2", *extra], capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
    assert done.returncode == 0, done.stderr[-3000:]
    cards = {}
    for path in sorted((out / "scorecards").glob("*.json")):
        card = json.loads(path.read_text())
        cards[path.stem] = {"status": card["status"], "score": card["score"],
                            "items": {item["id"]: item["status"] for item in card["items"]},
                            "path": card["submission"]["path"]}
    return cards


def test_ray_grades_the_batch_exactly_as_local_workers_do(cluster: LocalCluster, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    for stem in MIX:
        shutil.copy(corpus_file(stem), source / f"{stem}.py")
    local = _batch(source, tmp_path / "out-local")
    remote = _batch(source, tmp_path / "out-ray", "--executor", "ray", "--address", cluster.address)
    assert set(remote) == set(MIX)
    assert remote == local
    for stem, card in remote.items():
        assert card["path"] == str(source / f"{stem}.py")  # named by its path here, not the node's temporary copy
    lines = (tmp_path / "out-ray" / "journal.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["student"] for line in lines) == sorted(MIX)


def test_an_unreachable_cluster_is_a_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(corpus_file("correct_separate_linear_bias"), source / "a.py")
    done = subprocess.run([sys.executable, "-m", "harness", "batch", str(source), "--problem", "mhsa", "--out",
                           str(tmp_path / "out"), "--executor", "ray", "--address", f"127.0.0.1:{_free_port()}"],
                          capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, RAY_USAGE_STATS_ENABLED="0"))
    assert done.returncode == 2, done.stderr[-2000:]
    assert "cannot connect to the Ray cluster" in done.stderr
