"""The trusted side of the grading harness: problems, rubrics, the engine, scorecards and reporters."""

__version__ = "0.1.0"

from .api import grade  # noqa: E402
from .catalog import Catalog, LoadedProblem, ProblemFileError  # noqa: E402
from .exit_codes import ExitCode  # noqa: E402
from .models import Problem, Rubric, Scorecard  # noqa: E402

__all__ = [
    "Catalog",
    "ExitCode",
    "LoadedProblem",
    "Problem",
    "ProblemFileError",
    "Rubric",
    "Scorecard",
    "__version__",
    "grade",
]
