"""The runner conformance suite: every runner answers the same jobs with the same facts.

Sandboxing runners (``SANDBOXES``) must also enforce limits; the fake runner runs only trusted test code.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from harness.engine.parameters import chosen_values, declared_parameters
from runners import Job, Limits, Probe, Runner, RunResult, create_runner, runner_names

# Each runner configuration under test: a registered runner and its options. The local runner is tested warm
# (children forked from its zygote, its default) and cold (a fresh interpreter per submission).
RUNNER_SPECS: dict[str, tuple[str, dict[str, object]]] = {
    "fake": ("fake", {}),
    "local": ("local", {}),
    "local-cold": ("local-cold", {}),
    "docker": ("docker", {}),
    "docker-pool": ("docker-pool", {}),
}
IN_DOCKER = ("docker", "docker-pool")
_DOCKER = [pytest.param(spec, marks=[pytest.mark.docker, pytest.mark.slow]) for spec in IN_DOCKER]
ALL_RUNNERS = ["fake", "local", "local-cold", *_DOCKER]
SANDBOXES = ["local", "local-cold", *_DOCKER]


@pytest.fixture(autouse=True)
def _engine_for_docker(request: pytest.FixtureRequest) -> None:
    """Docker cases need the engine (started once per session, or skipped with the reason)."""
    spec = getattr(request.node, "callspec", None)
    if spec is not None and spec.params.get("runner_name") in IN_DOCKER:
        request.getfixturevalue("docker_engine")


def make_runner(spec: str) -> Runner:
    name, options = RUNNER_SPECS[spec]
    return create_runner(name, **options)


def run_job(spec: str, the_job: Job) -> RunResult:
    """Run one job on a runner made for it, closed afterwards (a warm runner leaves nothing running)."""
    with make_runner(spec) as runner:
        result = runner.run(the_job)
    if spec == "docker-pool":  # a silent fallback to fresh containers would hide a broken pool
        assert result.runner.enforced["startup"].startswith("forked from the warm zygote"), result.runner.enforced
    return result

GOOD = """
import torch
class Model(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(n, n))
        self.b = torch.nn.Parameter(torch.zeros(n))
    def forward(self, x):
        print("forward called")
        return x @ self.w.T + self.b
"""


def write(tmp_path: Path, source: str, name: str = "submission.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def job(path: Path, probes: list[Probe] | None = None, limits: Limits | None = None) -> Job:
    x = torch.randn(3, 4)
    return Job(
        submission=path,
        probes=probes or [
            Probe("load", "load", {"class_name": "Model"}),
            Probe("construct", "construct", {"instance": "m", "args": [4], "seed": 1}),
            Probe("randomize", "randomize", {"instance": "m", "seed": 2}),
            Probe("forward", "forward", {"instance": "m", "input": "x"}, {"x": x}),
            Probe("backward", "backward", {"instance": "m", "input": "x", "grad": "g"},
                  {"x": x, "g": torch.ones(3, 4)}),
            Probe("report", "report"),
        ],
        limits=limits or Limits(wall_s=30, probe_s=20),
    )


def test_registry_knows_the_runners_and_names_them_on_error():
    assert {"fake", "local"} <= set(runner_names())
    with pytest.raises(KeyError, match="known runners: .*local"):
        create_runner("nope")


@pytest.mark.parametrize("runner_name", ALL_RUNNERS)
def test_correct_module_answers_every_probe(runner_name, tmp_path):
    path = write(tmp_path, GOOD)
    the_job = job(path)
    result = run_job(runner_name, the_job)
    assert result.outcome == "completed", result.reason
    assert all(r.ok for r in result.probe_results.values())
    # The values the agent set are the host's own, regenerated from the seed and the declared shapes.
    assert result.probe_results["randomize"].facts == {"count": 2}
    assert not result.probe_results["randomize"].tensors
    declared = declared_parameters(result.probe_results["construct"].facts)
    assert declared is not None and [name for name, _, _ in declared] == ["w", "b"]
    params = chosen_values(declared, the_job.probes[2].params["seed"])
    assert params["b"].abs().sum() > 0
    out = result.probe_results["forward"].tensors["output"].double()
    expected = the_job.probes[3].tensors["x"].double() @ params["w"].T + params["b"]
    assert type(out) is torch.Tensor
    assert torch.allclose(out, expected, atol=1e-6)
    grads = result.probe_results["backward"].tensors
    assert {"grad_input", "grad_param/w", "grad_param/b"} <= set(grads)
    assert result.runner.name == RUNNER_SPECS[runner_name][0]


@pytest.mark.parametrize("runner_name", ALL_RUNNERS)
def test_exceptions_are_results_with_the_candidates_line(runner_name, tmp_path):
    path = write(tmp_path, GOOD.replace("return x @ self.w.T + self.b", "raise ValueError('boom')"))
    result = run_job(runner_name, job(path))
    assert result.outcome == "completed"
    forward = result.probe_results["forward"]
    assert not forward.ok and forward.error["type"] == "ValueError"
    assert forward.error["where"][-1]["function"] == "forward"


@pytest.mark.parametrize("runner_name", ALL_RUNNERS)
def test_import_failure_and_missing_class(runner_name, tmp_path):
    path = write(tmp_path, "import torch\nraise ImportError('no einops here')\n")
    result = run_job(runner_name, job(path))
    assert not result.probe_results["load"].ok
    assert "einops" in result.probe_results["load"].error["message"]
    path = write(tmp_path, "import torch\nclass Other(torch.nn.Module):\n    pass\n", "other.py")
    result = run_job(runner_name, job(path))
    assert result.probe_results["load"].facts["found"] is False
    assert not result.probe_results["construct"].ok


@pytest.mark.parametrize("runner_name", ALL_RUNNERS)
def test_non_tensor_and_subclass_outputs_are_reported_as_facts(runner_name, tmp_path):
    source = GOOD.replace("return x @ self.w.T + self.b", "return 'not a tensor'")
    result = run_job(runner_name, job(write(tmp_path, source)))
    forward = result.probe_results["forward"]
    assert forward.ok and "output" not in forward.tensors
    assert forward.facts["output_kind"] == "str"
    source = GOOD.replace("return x @ self.w.T + self.b",
                          "class T(torch.Tensor):\n            pass\n        return (x @ self.w.T).as_subclass(T)")
    result = run_job(runner_name, job(write(tmp_path, source, "sub.py")))
    forward = result.probe_results["forward"]
    assert forward.facts["output_type"] == "T"
    assert type(forward.tensors["output"]) is torch.Tensor


@pytest.mark.parametrize("runner_name", SANDBOXES)
def test_output_is_captured_and_capped_with_head_and_tail(runner_name, tmp_path):
    source = GOOD.replace('print("forward called")',
                          'print("HEAD"); print("x" * 500000); print("TAIL")')
    result = run_job(runner_name, job(write(tmp_path, source), limits=Limits(output_kb=4)))
    assert result.outcome == "completed"
    assert result.output.truncated and result.output.stdout_bytes > 500000
    assert result.output.stdout.startswith("HEAD") and result.output.stdout.rstrip().endswith("TAIL")
    assert len(result.output.stdout) < 6000
