"""What every sandboxed interpreter is started with: the agent's files, a clean environment, the cgroup join."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from . import agent as agent_package

MIB = 1 << 20
AGENT_PACKAGE = "harness_agent"
BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    f"from {AGENT_PACKAGE}.__main__ import main; main(sys.argv[2:])"
)
_PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# Joins the run's cgroups before anything else runs, then becomes the sandboxed command: no process of the run
# ever exists outside the cgroups, and no preexec hook runs in the (multithreaded) harness after fork.
JOIN_CGROUPS = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 97; shift; done; shift; exec "$@"'
JOIN_FAILED = 97


def sandbox_environment(home: Path, tmp: Path, path: str = "/usr/local/bin:/usr/bin:/bin") -> dict[str, str]:
    """The variables every sandboxed interpreter gets, and no other (a container's image has its own PATH)."""
    return {
        "PATH": path,
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }


def clean_environment(home: Path, tmp: Path) -> dict[str, str]:
    """The child's whole environment: nothing from the caller but CPU-quirk settings of the BLAS."""
    env = sandbox_environment(home, tmp)
    env.update({key: os.environ[key] for key in _PASSED_ENV if key in os.environ})
    return env


def install_agent(scratch: Path) -> Path:
    """Copy the agent's modules (and nothing else of the harness) into the scratch directory."""
    root = scratch / ".agent"
    target = root / AGENT_PACKAGE
    target.mkdir(parents=True)
    source = Path(agent_package.__file__).parent
    for module in source.glob("*.py"):
        shutil.copyfile(module, target / module.name)
    return root
