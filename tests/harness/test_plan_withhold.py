"""The plan marks the probes of hidden configurations, and sends them after every visible configuration."""

from __future__ import annotations

from pathlib import Path

from harness.catalog import Catalog
from harness.engine.plan import REPORT, build_plan


def test_hidden_configurations_come_last_and_are_withheld():
    problem = Catalog().load("mhsa").problem
    hidden = {config.name for config in problem.configs if config.hidden}
    assert hidden, "the flagship problem has a hidden configuration"
    plan = build_plan(problem, Path("submission.py"), seed=7)
    configs = [probe.id.split(":")[1] for probe in plan.job.probes if probe.kind == "construct"]
    assert configs[0] == problem.binding_config
    first_hidden = min(configs.index(name) for name in hidden)
    assert all(name in hidden for name in configs[first_hidden:] if name != "bench")
    for probe in plan.job.probes:
        config = probe.id.split(":")[1] if ":" in probe.id else None
        assert probe.withhold_output == (config in hidden), probe.id
    report = next(index for index, probe in enumerate(plan.job.probes) if probe.id == REPORT)
    assert all(not probe.withhold_output for probe in plan.job.probes[report:])
