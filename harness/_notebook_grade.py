"""Grading a Jupyter notebook: the Python of its code cells is graded, and the scorecard then speaks of the notebook.

The script (see :mod:`.submission_source`) is written to a private temporary folder and graded like any file. The
scorecard that comes back names the notebook and its SHA-256, cites cells and lines of the notebook instead of lines
of the script, and says which IPython lines were left out. A file that is not a notebook is the candidate's doing:
a ``compile_error`` that says what is wrong, never a harness fault.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from .models import Scorecard
from .submission_source import Script, SourceError, notebook_script, read_text

_SAFE_STEM = re.compile(r"[^A-Za-z0-9_]")


def script_name(notebook: Path) -> str:
    """The file name the notebook's script is graded under: the notebook's stem, made a safe module name."""
    stem = _SAFE_STEM.sub("_", notebook.stem)[:64] or "notebook"
    return f"{'_' + stem if stem[0].isdigit() else stem}.py"


def grade_notebook(notebook: Path, sha256: str, grade_script: Callable[[Path], Scorecard],
                   refuse: Callable[[str], Scorecard]) -> Scorecard:
    """Grade ``notebook`` through ``grade_script`` (which grades a .py); ``refuse(reason)`` scores an unreadable one."""
    try:
        script = notebook_script(read_text(notebook), notebook.name).with_stand_ins()
    except SourceError as exc:
        return refuse(str(exc))
    with tempfile.TemporaryDirectory(prefix="harness-notebook-") as folder:
        path = Path(folder) / script_name(notebook)
        path.write_text(script.text, encoding="utf-8")
        card = grade_script(path)
    return speak_of_notebook(card, notebook, sha256, script)


def speak_of_notebook(card: Scorecard, notebook: Path, sha256: str, script: Script) -> Scorecard:
    """The script's scorecard as the notebook's: its path and digest, cell citations, the note on removed lines."""
    items = [item.model_copy(update={"feedback": script.cite(item.feedback)}) for item in card.items]
    diagnoses = [d.model_copy(update={"message": script.cite(d.message)}) for d in card.diagnoses]
    cited = script.cite(card.message)
    message = " ".join(part for part in (cited if cited != "Graded." else "", script.note()) if part) or cited
    submission = card.submission.model_copy(update={"path": str(notebook), "sha256": sha256})
    return card.model_copy(update={"items": items, "diagnoses": diagnoses, "message": message,
                                   "submission": submission})
