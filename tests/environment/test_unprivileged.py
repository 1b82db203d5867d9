"""An ordinary user (not root) grades with the local sandbox: bubblewrap through unprivileged user namespaces.

Run as root, the test becomes the user ``nobody`` for the harness's process. On cgroup v1 an ordinary user has no
cgroup of its own, so memory is bounded by RLIMIT_AS, the warm start is off and peak memory is not measured (that
item is skipped); the scorecard and the doctor say so.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runners._cgroups import is_unified
from tests.support import ROOT, corpus_file

pytestmark = [pytest.mark.slow]


def _as_nobody_prefix() -> list[str]:
    if os.geteuid() != 0:
        pytest.skip("the test switches to an ordinary user, which needs root (it is one already: see the README)")
    if shutil.which("runuser") is None:
        pytest.skip("runuser (util-linux) is not installed")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("there is no user 'nobody' on this machine")
    return ["runuser", "-u", "nobody", "--"]


@pytest.fixture(scope="module")
def nobody_home():
    prefix = _as_nobody_prefix()
    reachable = subprocess.run([*prefix, sys.executable, "-c", "import harness, torch"], capture_output=True,
                               text=True, cwd="/tmp")
    if reachable.returncode != 0:
        pytest.skip(f"an ordinary user cannot run this interpreter or read this checkout ({sys.executable}, {ROOT}): "
                    f"{reachable.stderr.strip()[-200:]}; CI makes its environment under /tmp for this test")
    home = Path(tempfile.mkdtemp(prefix="harness-nobody-"))
    shutil.copy(corpus_file("correct_bmm_style"), home / "attention.py")
    os.chown(home, pwd.getpwnam("nobody").pw_uid, pwd.getpwnam("nobody").pw_gid)
    os.chmod(home / "attention.py", 0o644)
    yield prefix, home
    shutil.rmtree(home, ignore_errors=True)


def as_nobody(nobody_home, *args: str) -> subprocess.CompletedProcess[str]:
    prefix, home = nobody_home
    environment = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    return subprocess.run([*prefix, "env", "-i", *(f"{k}={v}" for k, v in environment.items()), sys.executable,
                           "-m", "harness", *args], capture_output=True, text=True, cwd=home, timeout=300)


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
def test_an_ordinary_user_gets_full_marks_in_bubblewrap(nobody_home):
    _, home = nobody_home
    done = as_nobody(nobody_home, "grade", str(home / "attention.py"), "--problem", "mhsa")
    assert done.returncode == 0, done.stderr[-2000:]
    card = json.loads(done.stdout)
    assert card["status"] == "graded", card["message"]
    enforced = card["runner"]["enforced"]
    assert enforced["filesystem"].startswith("bubblewrap")
    assert "user namespace" in enforced["privileges"]
    items = {item["id"]: item for item in card["items"]}
    if is_unified():
        assert card["score"] == card["max_score"]
    else:  # v1 is never delegated to an ordinary user: the fallbacks, each said as such
        assert enforced["memory"].startswith("RLIMIT_AS")
        assert "fresh interpreter" in enforced["startup"]
        # Peak memory needs a cgroup's accounting: unmeasured here, and the feedback says why.
        assert items["memory"]["status"] == "skipped" and "cgroup" in items["memory"]["feedback"]
        assert all(item["status"] == "passed" for name, item in items.items() if name != "memory"), items


def test_the_doctor_tells_an_ordinary_user_what_is_missing_and_how_to_get_it(nobody_home):
    done = as_nobody(nobody_home, "doctor", "--format", "json", "--runner", "local")
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    findings = {finding["name"]: finding for finding in report["findings"]}
    assert findings["user namespaces"]["status"] == "ok" and "this user" in findings["user namespaces"]["detail"]
    if not is_unified():
        assert findings["cgroups"]["status"] == "limited" and "root" in findings["cgroups"]["fix"]
    assert report["runners"][0]["ready"]
