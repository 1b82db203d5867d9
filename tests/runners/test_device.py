"""The device path: CUDA when asked for and a GPU is visible, the CPU otherwise, and the scorecard says which."""

from __future__ import annotations

import pytest
import torch

from harness.api import grade
from runners import Limits, _bwrap, create_runner
from runners._bwrap import bwrap_path
from runners.local import LocalRunner
from tests.runners.test_conformance import GOOD, job, write
from tests.support import corpus_file

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible on this machine")
LIMITS = Limits(wall_s=60, probe_s=20, startup_s=45)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback of a machine without a GPU")
@pytest.mark.parametrize("runner_name", ["fake", pytest.param("local", marks=pytest.mark.slow)])
def test_cuda_asked_without_a_gpu_runs_on_the_cpu_and_says_so(runner_name, tmp_path):
    the_job = job(write(tmp_path, GOOD))
    the_job.device = "cuda"
    with create_runner(runner_name) as runner:
        result = runner.run(the_job)
    assert result.outcome == "completed" and result.probe_results["forward"].ok
    assert result.runner.enforced["device"] == "cpu (cuda was asked for, but no GPU is visible)"


@pytest.mark.gpu
@pytest.mark.slow
@needs_gpu
@pytest.mark.parametrize("stem", ["correct_separate_linear_bias", "mistake_no_scale", "correct_slow_loops"])
def test_the_mhsa_corpus_on_the_gpu_scores_as_on_the_cpu(stem):
    on_cpu = grade(corpus_file(stem), "mhsa", "local", seed=5, limits=LIMITS, device="cpu")
    on_gpu = grade(corpus_file(stem), "mhsa", "local", seed=5, limits=LIMITS, device="cuda")
    assert on_gpu.runner.enforced["device"].startswith("cuda")
    correctness = {item.id: item.status for item in on_cpu.items if item.id not in ("performance", "memory")}
    assert {item.id: item.status for item in on_gpu.items if item.id in correctness} == correctness
    memory = next(item for item in on_gpu.items if item.id == "memory")
    assert memory.details.get("measured_by", "").startswith("device allocator")


NODE_PROBE = GOOD.replace('print("forward called")', (
    "import os\n"
    "        if os.path.exists('/dev/nvidia0'):\n"
    "            node = os.open('/dev/nvidia0', os.O_RDWR)\n"  # CUDA opens its device nodes read-write
    "            print('NODE', os.read(node, 4).hex())\n"
    "        else:\n"
    "            print('NODE absent')\n"
    "        print('SYSFS', os.path.isdir('/sys/devices'))"
))


@pytest.mark.slow
@pytest.mark.skipif(bwrap_path() is None, reason="bubblewrap is not installed (apt-get install bubblewrap)")
@pytest.mark.parametrize("warm", [True, False], ids=["warm", "cold"])
def test_a_cuda_job_sees_the_gpu_device_nodes_in_the_sandbox_and_a_cpu_job_does_not(warm, tmp_path, monkeypatch):
    # No GPU here: /dev/zero stands in for a GPU's device node, bound where the driver's would be.
    monkeypatch.setattr(_bwrap, "gpu_device_binds", lambda: [("/dev/zero", "/dev/nvidia0")])
    cuda_job = job(write(tmp_path, NODE_PROBE, "on_gpu.py"))
    cuda_job.device = "cuda"
    with LocalRunner(warm=warm) as runner:
        on_gpu = runner.run(cuda_job)
        on_cpu = runner.run(job(write(tmp_path, NODE_PROBE, "on_cpu.py")))  # the same runner, a CPU job next
    assert on_gpu.outcome == on_cpu.outcome == "completed", (on_gpu.reason, on_cpu.reason)
    assert "NODE 00000000" in on_gpu.output.stdout
    assert "NODE absent" in on_cpu.output.stdout and "NODE 0" not in on_cpu.output.stdout
    assert "SYSFS True" in on_gpu.output.stdout and "SYSFS False" in on_cpu.output.stdout  # CUDA needs /sys
    assert on_gpu.runner.enforced["gpu"] == "device nodes bound into the sandbox: /dev/nvidia0"
    assert on_cpu.runner.enforced["gpu"] == "none"
    if warm:
        assert on_gpu.runner.enforced["startup"].startswith("forked")
        assert on_cpu.runner.enforced["startup"].startswith("forked")
