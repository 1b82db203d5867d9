"""The docker runner's confinement, checked from inside the container: no engine flag is trusted untested."""

from __future__ import annotations

import pytest

from runners import Limits, create_runner
from tests.runners.test_conformance import GOOD, job, write

pytestmark = [pytest.mark.docker, pytest.mark.slow]

FAST = Limits(wall_s=20, probe_s=6, startup_s=30, memory_mb=768)


@pytest.fixture
def docker(docker_engine):
    with create_runner("docker") as runner:
        yield runner


def _labelled_containers(engine) -> list:
    import docker as sdk

    client = sdk.DockerClient(base_url=engine.base_url)
    return client.containers.list(all=True, filters={"label": "mlgrade-harness=sandbox"})


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
        "        print('MEM', open('/sys/fs/cgroup/memory/memory.limit_in_bytes').read().strip())\n"
        "        print('PIDS', open('/sys/fs/cgroup/pids/pids.max').read().strip())\n"
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
    assert "UID 10001 CAPEFF 0000000000000000 NNP 1" in out
    assert "SECCOMP 2" in out
    assert "IFACES ['lo']" in out and "NO-NETWORK" in out and "CONNECTED" not in out
    assert "WROTE" not in out
    assert all(f"READ-ONLY {path}" in out for path in ["/usr/pwned", "/opt/harness/pwned", "/submission/pwned"])
    assert "SECRET False" in out
    assert f"MEM {FAST.memory_mb * (1 << 20)}" in out and f"PIDS {FAST.processes}" in out
    assert "HARNESS_DOCKER_HOST" not in out
    assert result.resources.cpu_s and result.resources.peak_memory_mb
    assert result.runner.enforced["network"] == "network mode none"
    assert _labelled_containers(docker_engine) == []  # removed after the run


def test_memory_hog_is_a_memory_limit_from_the_engine(docker, tmp_path):
    source = GOOD.replace('print("forward called")',
                          "hog = []\n        while True:\n            hog.append(torch.ones(64 * 1024 * 1024))")
    result = docker.run(job(write(tmp_path, source), limits=FAST))
    assert result.outcome == "memory_limit", result.reason


def test_hang_is_a_timeout_and_the_container_is_killed_and_removed(docker, docker_engine, tmp_path):
    source = GOOD.replace('print("forward called")', "import time\n        time.sleep(3600)")
    result = docker.run(job(write(tmp_path, source), limits=FAST))
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
    forked = [int(line.split()[1]) for line in result.output.stdout.splitlines() if line.startswith("FORKED")]
    assert forked and forked[0] < FAST.processes
    assert _labelled_containers(docker_engine) == []


def test_an_unreachable_engine_is_a_sandbox_error_not_an_exception(tmp_path):
    with create_runner("docker", base_url="unix:///nonexistent/docker.sock") as runner:
        result = runner.run(job(write(tmp_path, GOOD), limits=FAST))
    assert result.outcome == "sandbox_error" and "no Docker engine" in result.reason
