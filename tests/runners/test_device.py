"""The device path: CUDA when asked for and a GPU is visible, the CPU otherwise, and the scorecard says which."""

from __future__ import annotations

import pytest
import torch

from harness.api import grade
from runners import Limits, create_runner
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
