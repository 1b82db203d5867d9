"""The docker runners' confinement, checked from inside the container: no engine flag is trusted untested.

Each check runs against the fresh-container runner (``docker``) and the pooled one (``docker-pool``, whose
submissions are children forked from a warm zygote in a long-lived container); the pool's own lifecycle follows.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import time

import pytest

from runners import Limits, create_runner, docker_pool
from tests.runners.test_conformance import GOOD, job, write
from tests.runners.test_local_sandbox import (
    LEAK_READER,
    LEAK_WRITER,
    ZYGOTE_ATTACKER,
    assert_nothing_leaked,
    assert_zygote_out_of_reach,
)
from tests.support import ROOT

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FAST = Limits(wall_s=20, probe_s=6, startup_s=30, memory_mb=768)


@pytest.fixture(params=["docker", "docker-pool"])
def docker(request, docker_engine):
    with create_runner(request.param) as runner:
        yield runner
    assert _labelled_containers(docker_engine, "pool") == []  # the pool container goes with its runner


def _assert_pooled(result) -> None:
    """A docker-pool result really came from a child of the pool (a silent fallback would hide a broken pool)."""
    if result.runner.name == "docker-pool":
        assert result.runner.enforced["startup"].startswith("forked from the warm zygote"), \
            result.runner.enforced["startup"]


def _labelled_containers(engine, kind: str = "sandbox") -> list:
    import docker as sdk

    client = sdk.DockerClient(base_url=engine.base_url)
    return client.containers.list(all=True, filters={"label": f"mlgrade-harness={kind}"})


def test_every_engine_flag_took_effect_inside_the_container(docker, docker_engine, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("HOST-SECRET")
    source = GOOD.replace('print("forward called")', (
        "import os, socket\n"
        "        status = dict(l.split(':', 1) for l in open('/proc/self/status') if ':' in l)\n"
        "        print('UID', os.getuid(), 'CAPEFF', status['CapEff'].strip(), 'NNP', status['NoNewPrivs'].strip())\n"
        "        print('SECCOMP', status['Seccomp'].strip())\n"
        "        print('IFACES', sorted(os.listdir('/sys/class/net')))\n"
        "        for path in ['/usr/pwned', '/opt/harness/pwned', '/submission/pwned']:\n"
        "            try:\n"
        "                open(path, 'w')\n"
        "                print('WROTE', path)\n"
        "            except OSError as exc:\n"
        "                print('READ-ONLY', path, type(exc).__name__)\n"
        "        open('/sandbox/ok.txt', 'w').write('x'); open('/tmp/ok.txt', 'w').write('x')\n"
        f"        print('SECRET', os.path.exists({str(secret)!r}))\n"
        # The container's cgroup is the root of its view; a pooled child's own cgroup is one level below.
        "        def own(controller, name):\n"
        "            line = [l for l in open('/proc/self/cgroup') if f':{controller}:' in l][0]\n"
        "            below = os.path.join('/sys/fs/cgroup', controller, line.strip().rsplit('/', 1)[1], name)\n"
        "            return open(below if os.path.exists(below) else os.path.join('/sys/fs/cgroup', controller,\n"
        "                                                                          name)).read().strip()\n"
        "        print('MEM', own('memory', 'memory.limit_in_bytes'))\n"
        "        print('PIDS', own('pids', 'pids.max'))\n"
        "        print('CAPBND', status['CapBnd'].strip())\n"
        "        print('ENV', sorted(os.environ))\n"
        "        try:\n"
        "            socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
        "            print('CONNECTED')\n"
        "        except OSError as exc:\n"
        "            print('NO-NETWORK', type(exc).__name__)"
    ))
    result = docker.run(job(write(tmp_path, source), limits=FAST))
    out = result.output.stdout
    assert result.outcome == "completed", (result.reason, result.output.stderr[-2000:])
    _assert_pooled(result)
    assert "UID 10001 CAPEFF 0000000000000000 NNP 1" in out
    assert "SECCOMP 2" in out
    assert "IFACES ['lo']" in out and "NO-NETWORK" in out and "CONNECTED" not in out
    assert "WROTE" not in out
    assert all(f"READ-ONLY {path}" in out for path in ["/usr/pwned", "/opt/harness/pwned", "/submission/pwned"])
    assert "SECRET False" in out
    assert f"MEM {FAST.memory_mb * (1 << 20)}" in out and f"PIDS {FAST.processes}" in out
    assert "HARNESS_DOCKER_HOST" not in out
    assert result.resources.cpu_s and result.resources.peak_memory_mb
    assert result.runner.enforced["network"].startswith("network mode none")
    if result.runner.name == "docker-pool":
        assert "CAPBND 0000000000000000" in out  # dropped for good, not only from the effective set
    assert _labelled_containers(docker_engine) == []  # removed after the run


def test_memory_hog_is_a_memory_limit_from_the_engine(docker, tmp_path):
    source = GOOD.replace('print("forward called")',
                          "hog = []\n        while True:\n            hog.append(torch.ones(64 * 1024 * 1024))")
    result = docker.run(job(write(tmp_path, source), limits=FAST))
    _assert_pooled(result)
    assert result.outcome == "memory_limit", result.reason


def test_hang_is_a_timeout_and_the_container_is_killed_and_removed(docker, docker_engine, tmp_path):
    source = GOOD.replace('print("forward called")', "import time\n        time.sleep(3600)")
    result = docker.run(job(write(tmp_path, source), limits=FAST))
    _assert_pooled(result)
    assert result.outcome == "timeout" and result.interrupted_probe == "forward"
    assert "construct" in result.probe_results
    assert _labelled_containers(docker_engine) == []


def test_fork_storm_is_bounded_by_the_pids_limit(docker, docker_engine, tmp_path):
    source = GOOD.replace('print("forward called")', (
        "import os\n"
        "        count = 0\n"
        "        for _ in range(10000):\n"
        "            try:\n"
        "                if os.fork() == 0:\n"
        "                    import time; time.sleep(60); os._exit(0)\n"
        "                count += 1\n"
        "            except OSError:\n"
        "                break\n"
        "        print('FORKED', count)"
    ))
    result = docker.run(job(write(tmp_path, source), limits=FAST))
    _assert_pooled(result)
    forked = [int(line.split()[1]) for line in result.output.stdout.splitlines() if line.startswith("FORKED")]
    assert forked and forked[0] < FAST.processes
    assert _labelled_containers(docker_engine) == []


@pytest.mark.parametrize("name", ["docker", "docker-pool"])
def test_an_unreachable_engine_is_a_sandbox_error_not_an_exception(name, tmp_path):
    with create_runner(name, base_url="unix:///nonexistent/docker.sock") as runner:
        result = runner.run(job(write(tmp_path, GOOD), limits=FAST))
    assert result.outcome == "sandbox_error" and "no Docker engine" in result.reason
    assert result.runner.name == name


# ------------------------------------------------------------------------------------------------- the pool's own


def _children_cgroups(pool) -> list[str]:
    return sorted(glob.glob(f"/sys/fs/cgroup/*/docker/{pool.container.id}/harness-*"))


def test_pool_children_share_nothing_and_cannot_reach_the_zygote_and_a_dead_pool_is_replaced(docker_engine,
                                                                                             tmp_path):
    with create_runner("docker-pool") as runner:
        first = runner.run(job(write(tmp_path, LEAK_WRITER, "writer.py"), limits=FAST))
        pool = runner._zygote
        second = runner.run(job(write(tmp_path, LEAK_READER, "reader.py"), limits=FAST))
        attacked = runner.run(job(write(tmp_path, ZYGOTE_ATTACKER, "attacker.py"), limits=FAST))
        assert runner._zygote is pool and pool.alive()  # one container served all three
        assert_zygote_out_of_reach(attacked, pool.cgroups.pids())
        assert _children_cgroups(pool) == []  # each child's cgroup went with it
        # The pool's own seccomp profile is in force in the container (the engine's default allows this call).
        code, output = pool.container.exec_run(
            ["python3", "-c", "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); "
                              "print(libc.personality(0), ctypes.get_errno())"], user="10001:10001")
        assert code == 0 and output.decode().split() == ["-1", "1"], output
        pool.container.kill()  # the pool dies between two submissions: the next one gets a new pool
        third = runner.run(job(write(tmp_path, GOOD, "good.py"), limits=FAST))
        assert runner._zygote is not pool
    for result in (first, second, attacked, third):
        _assert_pooled(result)
    assert_nothing_leaked(first, second)
    assert third.outcome == "completed", third.reason
    assert _labelled_containers(docker_engine, "pool") == []


def test_a_job_with_larger_limits_gets_a_larger_pool(docker_engine, tmp_path):
    with create_runner("docker-pool") as runner:
        small = runner.run(job(write(tmp_path, GOOD), limits=FAST))
        first_pool = runner._zygote
        large = runner.run(job(write(tmp_path, GOOD), limits=FAST.model_copy(update={"memory_mb": 1024})))
        assert runner._zygote is not first_pool and runner._zygote.memory_mb == 1024
    assert small.outcome == large.outcome == "completed"
    assert "1024 MiB for the child" in large.runner.enforced["memory"]


_OWNER = """
import sys, time
from runners import create_runner
from tests.runners.test_conformance import GOOD, job, write
from tests.runners.test_docker import FAST
from pathlib import Path

with create_runner("docker-pool") as runner:
    result = runner.run(job(write(Path(sys.argv[1]), GOOD), limits=FAST))
    print(result.outcome, runner._zygote.container.id, flush=True)
    time.sleep(600)
"""


def test_the_pool_container_goes_when_the_harness_is_killed(docker_engine, tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        assert owner.stdout is not None
        outcome, container_id = owner.stdout.readline().split()
        assert outcome == "completed"
        assert [c.id for c in _labelled_containers(docker_engine, "pool")] == [container_id]
    finally:
        os.killpg(owner.pid, signal.SIGKILL)  # no close(), no finalizer: only the closed channel tells the zygote
        owner.wait()
    deadline = time.monotonic() + 30
    while _labelled_containers(docker_engine, "pool") and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _labelled_containers(docker_engine, "pool") == []
    assert glob.glob(f"/sys/fs/cgroup/memory/docker/{container_id}") == []


def test_a_pool_whose_children_cannot_isolate_themselves_gives_way_to_fresh_containers(docker_engine, tmp_path,
                                                                                     monkeypatch):
    # Without its user namespace the zygote has no capability, as on a host whose kernel or security module refuses
    # them: its children could not make their namespaces, and the zygote's own check says so before any submission.
    monkeypatch.setattr(docker_pool, "ZYGOTE_PLAN", {"threads": 1, "user_namespace": False})
    with create_runner("docker-pool") as runner:
        first = runner.run(job(write(tmp_path, GOOD), limits=FAST))
        second = runner.run(job(write(tmp_path, GOOD, "again.py"), limits=FAST))
    for result in (first, second):
        assert result.outcome == "completed", result.reason
        assert result.runner.name == "docker-pool"
        startup = result.runner.enforced["startup"]
        assert startup.startswith("fresh container") and "cannot isolate themselves" in startup, startup
    assert _labelled_containers(docker_engine, "pool") == []
