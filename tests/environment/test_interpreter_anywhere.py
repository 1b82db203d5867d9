"""The sandbox binds the running interpreter wherever it lives, /tmp included, under the sandbox's private /tmp."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from runners._bwrap import bwrap_command
from tests.support import ROOT, corpus_file

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


def test_the_private_tmp_is_mounted_before_the_interpreter_is_bound(tmp_path, monkeypatch):
    import runners._bwrap as bwrap_module

    monkeypatch.setattr(bwrap_module, "python_roots", lambda: ["/tmp/some-venv"])
    command = bwrap_command("bwrap", tmp_path, {}, 1 << 20)
    tmpfs_at = next(i for i, arg in enumerate(command) if arg == "--tmpfs" and command[i + 1] == "/tmp")
    bound_at = next(i for i, arg in enumerate(command) if arg == "--ro-bind" and command[i + 1] == "/tmp/some-venv")
    assert tmpfs_at < bound_at  # bubblewrap mounts in order: the other way round, the venv would vanish


@pytest.fixture(scope="module")
def venv_under_tmp():
    """A virtual environment under /tmp that sees this interpreter's packages (torch, and this harness).

    Not ``--system-site-packages``: run from a venv (as CI is), that would see the base Python's packages instead.
    A ``.pth`` adds this environment's site directories, their own ``.pth`` files (the editable install) included.
    """
    import site
    import sysconfig

    folder = Path(tempfile.mkdtemp(prefix="harness-venv-", dir="/tmp"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = [*site.getsitepackages(), sysconfig.get_paths()["purelib"]]
    lines = [f"import site; site.addsitedir({directory!r})" for directory in dict.fromkeys(ours)]
    (Path(purelib) / "harness-test-parent.pth").write_text("\n".join(lines) + "\n")
    yield python
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("runner", ["local", "local-cold"])
def test_a_correct_submission_gets_full_marks_from_a_venv_under_tmp(venv_under_tmp, runner):
    done = subprocess.run([str(venv_under_tmp), "-m", "harness", "grade", str(corpus_file("correct_bmm_style")),
                           "--problem", "mhsa", "--runner", runner], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    card = json.loads(done.stdout)
    assert card["status"] == "graded", card["message"]
    assert card["score"] == card["max_score"]
    startup = card["runner"]["enforced"].get("startup", "")
    assert ("warm zygote" in startup) == (runner == "local"), startup  # the warm path kept the venv too
    assert "bubblewrap" in card["runner"]["enforced"]["filesystem"]
