"""A root host without bubblewrap (an LMS container, say): the child drops to an unprivileged user before any
candidate code runs, so the grader's files are kept from it by their permissions alone."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from harness.api import grade
from runners.local import LocalRunner, unprivileged_user
from tests.support import CORPUS

pytestmark = pytest.mark.slow

SNOOP = '''
SECRET = {secret!r}
try:
    with open(SECRET) as handle:
        handle.read()
except OSError:
    pass
else:
    raise RuntimeError("read a file only root may read")
try:
    with open({results!r}, "w") as handle:
        handle.write("forged")
except OSError:
    pass
else:
    raise RuntimeError("wrote into a folder only root may write")
'''


def test_child_runs_as_nobody_and_cannot_reach_roots_files():
    if os.geteuid() != 0:
        pytest.skip("only a root host drops the child's privileges")
    if unprivileged_user() is None:
        pytest.skip("this Python lives where nobody cannot read it (e.g. under /root), so the child cannot drop")
    with tempfile.TemporaryDirectory(prefix="harness-rootfiles-") as folder:
        os.chmod(folder, 0o755)  # reachable, as /autograder is; the files inside are root's alone
        secret = Path(folder) / "reference.py"
        secret.write_text("ANSWER = 42\n")
        secret.chmod(0o600)
        results = Path(folder) / "results"
        results.mkdir(mode=0o755)
        submission = Path(folder) / "attention.py"
        submission.write_text(SNOOP.format(secret=str(secret), results=str(results / "results.json"))
                              + (CORPUS / "correct_fused_qkv_linear.py").read_text())
        with LocalRunner(use_bwrap=False, warm=False) as runner:
            card = grade(submission, "mhsa", runner, seed=11)
        assert card.status == "graded", card.message
        assert next(i for i in card.items if i.id == "interface").status == "passed"
        assert "dropped from root" in card.runner.enforced["privileges"]
        assert not (results / "results.json").exists()
