"""`harness doctor` explains this machine: each finding measured, each runner's canary run, a fix for each gap."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys

import jsonschema
import pytest

from harness.api import grade
from harness.doctor import CHECKS, check_platform, diagnose
from harness.schemas import load_schema
from runners.base import Limits, SandboxUnavailable
from runners.local import LocalRunner
from tests.environment.test_harness_faults import broken_path
from tests.support import ROOT, corpus_file


def doctor(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "doctor", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_every_capability_is_reported_in_a_fixed_order_and_the_json_matches_its_schema():
    report = diagnose(runners=[])
    names = [finding.name for finding in report.findings]
    assert names == ["platform", "python", "bubblewrap", "user namespaces", "cgroups", "seccomp", "docker", "gpu"]
    assert len(CHECKS) == len(names)
    for finding in report.findings:
        assert finding.detail
        assert (finding.status in ("ok", "not applicable")) == (finding.fix == ""), finding
    jsonschema.validate(json.loads(report.model_dump_json()), load_schema("doctor"))


@pytest.mark.slow
@pytest.mark.skipif(platform.system() != "Linux", reason="the local runners are Linux-only")
def test_the_doctor_runs_each_local_runner_canary_and_shows_what_it_enforces():
    done = doctor("--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    runners = {runner["name"]: runner for runner in report["runners"]}
    assert sorted(runners) == ["local", "local-cold"]
    assert all(runner["ready"] for runner in runners.values())
    for runner in runners.values():
        assert runner["enforced"]["memory"] and runner["enforced"]["filesystem"]  # the canary's real report
    if shutil.which("bwrap"):
        assert "warm zygote" in runners["local"]["enforced"]["startup"]
    findings = {finding["name"]: finding for finding in report["findings"]}
    version = "v2" if os.path.isfile("/sys/fs/cgroup/cgroup.controllers") else "v1"
    assert f"cgroup {version}" in findings["cgroups"]["detail"]
    text = doctor()
    assert text.returncode == 0 and "runner local: ready" in text.stdout and "platform" in text.stdout


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_with_a_broken_bubblewrap_the_doctor_names_it_and_exits_1(tmp_path):
    done = doctor("--format", "json", "--runner", "local-cold", env=broken_path(tmp_path))
    assert done.returncode == 1
    report = json.loads(done.stdout)
    bubblewrap = next(f for f in report["findings"] if f["name"] == "bubblewrap")
    assert bubblewrap["status"] == "missing" and "setting up uid map" in bubblewrap["detail"]
    assert bubblewrap["fix"]
    (runner,) = report["runners"]
    assert not runner["ready"] and "could not start its sandbox" in runner["detail"]


def test_on_macos_the_local_sandbox_says_it_is_linux_only_and_points_to_docker(monkeypatch):
    monkeypatch.setattr(platform, "system", lambda: "Darwin")
    finding = check_platform()
    assert finding.status == "missing" and "--runner docker" in finding.fix
    with pytest.raises(SandboxUnavailable, match="Linux-only.*--runner docker"):
        LocalRunner().ensure_ready(Limits())
    card = grade(corpus_file("correct_bmm_style"), "mhsa", "local")
    assert card.status == "internal_error" and "--runner docker" in card.message
    assert diagnose().runners == []  # no local canary to run there
