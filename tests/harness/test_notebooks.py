"""Notebook submissions: the code cells graded in order, IPython lines left out with a note, citations in cells."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import nbformat
import pytest

from harness import grade
from harness._submission_size import MAX_SUBMISSION_BYTES
from harness.batch import discover_submissions, grade_batch
from harness.lms.autograder import find_submission
from harness.submission_source import (
    SourceError,
    cited_lines,
    notebook_script,
    python_text,
    read_sections,
    stored_source,
)
from tests.support import corpus_file


def write_notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """A notebook of (kind, source) cells, kind "code" or "markdown", written as Jupyter would."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
                      for kind, source in cells]
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    return path


def corpus_notebook(path: Path, stem: str, before: str = "import math") -> Path:
    """A corpus file as the third cell of a notebook, after a markdown cell and a cell of setup with magics."""
    return write_notebook(path, [("markdown", "# Attention\nMy work."),
                                 ("code", f"%matplotlib inline\n!pip install torch\n{before}"),
                                 ("code", corpus_file(stem).read_text()),
                                 ("code", "%%bash\necho done"),
                                 ("code", "display(math.pi)  # IPython's, not imported")])


# --- the script --------------------------------------------------------------------------------------------------


def test_ipython_lines_become_pass_and_keep_every_cell_line_in_place(tmp_path):
    text = write_notebook(tmp_path / "n.ipynb", [
        ("markdown", "intro"),
        ("code", "%load_ext autoreload\nx = 1\nfiles = !ls\nhelp_me = len\nlen?\n"),
        ("code", "for i in range(2):\n    !echo $i\n    y = i\n"),
    ]).read_text()
    script = notebook_script(text)
    lines = script.text.splitlines()
    assert lines[0] == "# cell 2" and lines[1] == "pass" and lines[2] == "x = 1" and lines[3] == "pass"
    assert lines[4] == "help_me = len" and lines[5] == "pass"
    assert lines[6] == "# cell 3" and lines[8] == "    pass" and lines[9] == "    y = i"
    compile(script.text, "notebook", "exec")  # still Python: the loop's body is a body
    assert script.origin(3) == (2, 2) and script.origin(9) == (3, 2) and script.origin(7) is None
    assert [(r.cell, r.line) for r in script.removed] == [(2, 1), (2, 3), (2, 5), (3, 2)]


def test_a_cell_magic_comments_out_a_shell_cell_but_keeps_a_python_one(tmp_path):
    text = write_notebook(tmp_path / "n.ipynb", [("code", "%%bash\nls -l\nrm -rf x"),
                                                 ("code", "%%time\nz = 2\nw = z")]).read_text()
    script = notebook_script(text)
    body = script.text.splitlines()
    assert body[1].startswith("#") and body[2] == "#" and body[3] == "#"
    assert body[5:] == ["pass", "z = 2", "w = z"]
    assert script.origin(7) == (2, 2)
    compile(script.text, "notebook", "exec")


def test_a_cell_magic_after_blank_lines_is_still_the_cells_magic(tmp_path):
    text = write_notebook(tmp_path / "n.ipynb", [("code", "\n\n%%time\nz = 2"),
                                                 ("code", "\n%%bash\nls")]).read_text()
    script = notebook_script(text)
    assert script.text.splitlines()[1:5] == ["", "", "pass", "z = 2"]
    assert [(r.cell, r.line, r.text) for r in script.removed] == [(1, 3, "%%time"), (2, 2, "%%bash"), (2, 3, "ls")]
    compile(script.text, "notebook", "exec")


def test_ipythons_display_and_shell_are_defined_only_where_the_code_calls_them(tmp_path):
    plain = notebook_script(write_notebook(tmp_path / "a.ipynb", [("code", "x = 1")]).read_text())
    assert plain.with_stand_ins() is plain
    calls = "x = 1\ndisplay(x)\nget_ipython().run_line_magic('time', '')"
    text = write_notebook(tmp_path / "b.ipynb", [("code", calls)])
    script = notebook_script(text.read_text()).with_stand_ins()
    namespace: dict = {}
    exec(compile(script.text, "notebook", "exec"), namespace)  # runs: neither name is a NameError
    assert namespace["x"] == 1
    added = script.text.splitlines().index("# cell 1")
    assert added > 0 and all(script.origin(line) is None for line in range(1, added + 2))
    assert script.origin(added + 3) == (1, 2)  # display(x): cited in its cell, past the lines added


def test_python_that_looks_like_a_magic_is_kept(tmp_path):
    source = "a = 10 % 3\nb = (a !=\n     2)\ns = 'x?'\nc = [1,\n  2]  # what?\nd = 1 + \\\n  2"
    text = write_notebook(tmp_path / "n.ipynb", [("code", source)]).read_text()
    script = notebook_script(text)
    assert script.removed == []
    assert script.text.splitlines()[1:] == source.splitlines()


def test_citations_are_rewritten_to_cells_and_the_note_names_what_was_left_out(tmp_path):
    text = corpus_notebook(tmp_path / "n.ipynb", "correct_bmm_style").read_text()
    script = notebook_script(text)
    line = next(i for i, origin in enumerate(script.origins, start=1) if origin == (3, 4))
    assert script.cite(f"raised at line {line} of your file") == "raised at cell 3, line 4 of your file"
    assert script.cite("cell 2, line 1 stays") == "cell 2, line 1 stays"
    assert script.cite("line 99999 is past the end") == "line 99999 is past the end"
    note = script.note()
    assert "cell 2, line 1: %matplotlib inline" in note and "cell 4, line 1: %%bash" in note
    assert cited_lines("at cell 3, line 4 and line 7") == {(3, 4), (None, 7)}


def test_many_removed_lines_are_counted_not_all_named(tmp_path):
    text = write_notebook(tmp_path / "n.ipynb", [("code", "\n".join(f"!echo {i}" for i in range(30)))]).read_text()
    note = notebook_script(text).note()
    assert "30 IPython lines" in note and "and 22 more" in note and len(note) < 1000


@pytest.mark.parametrize("content, problem", [
    (b"{not json", "not a valid Jupyter notebook"),
    (json.dumps({"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}).encode(),
     "not a valid Jupyter notebook"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
])
def test_a_file_that_is_not_a_notebook_is_a_source_error_naming_it(tmp_path, content, problem):
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    with pytest.raises(SourceError, match=rf"broken\.ipynb.*{problem}|broken\.ipynb: {problem}"):
        python_text(path)


def cell(source, **fields) -> dict:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None, **fields}


def notebook_json(cells, **top) -> str:
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells, **top})


@pytest.mark.parametrize("text", [
    notebook_json([{"cell_type": "code", "source": "x = 1", "metadata": {}}]),  # a code cell without outputs
    notebook_json([cell("x = 1", execution_count="3")]),  # a count written as a string
    notebook_json([cell("x = 1", outputs=[{"output_type": "widget-state"}])]),  # an output of a kind unknown
    json.dumps({"cells": [{"cell_type": "code", "source": ["x", " = 1\n"]}]}),  # no version, no metadata
    notebook_json([cell("x = 1", id="a"), cell("y = 2", id="a")]),  # two cells of one id
    json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "x = 1", "language": "python", "outputs": []}]}]}),  # IPython 1's format
], ids=["no-outputs", "string-count", "unknown-output", "bare", "duplicate-ids", "format-3"])
def test_a_notebook_jupyter_would_open_is_graded_though_it_strays_from_the_schema(tmp_path, text):
    path = tmp_path / "odd.ipynb"
    path.write_text(text, encoding="utf-8")
    assert "x = 1" in python_text(path).splitlines()


@pytest.mark.parametrize("text, problem", [
    ("[" * 200_000, "nests 200000 levels deep"),
    ('{"cells": [' + "[" * 70 + "]" * 70 + "]}", "nests 72 levels deep"),
    ('{"cells": [], "n": ' + "9" * 5000 + "}", "not JSON"),
    ('["a list"]', "not an object"),
    ('{"cells": [7]}', "cell 1 has no cell_type"),
    ('{"cells": [{"cell_type": "code", "source": [1, 2]}]}', "cell 1 has no cell_type"),
])
def test_a_hostile_notebook_is_a_source_error_not_an_escaped_exception(tmp_path, text, problem):
    path = tmp_path / "hostile.ipynb"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SourceError, match=problem):
        python_text(path)


def test_a_deeply_nested_notebook_is_the_candidates_compile_error(tmp_path):
    path = tmp_path / "deep.ipynb"
    path.write_text("{" * 100_000, encoding="utf-8")
    card = grade(path, "mhsa", "fake")
    assert card.status == "compile_error" and "levels deep" in card.message


def test_an_oversized_notebook_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.ipynb"
    with open(path, "wb") as stream:
        stream.truncate(MAX_SUBMISSION_BYTES + 1)
    with pytest.raises(SourceError, match="over the"):
        read_sections(path)


def test_sections_are_the_code_cells_numbered_as_the_notebook_counts_them(tmp_path):
    path = corpus_notebook(tmp_path / "n.ipynb", "correct_bmm_style")
    sections = read_sections(path)
    assert [s.cell for s in sections] == [2, 3, 4, 5] and sections[0].label == "cell 2"
    assert sections[1].lines == corpus_file("correct_bmm_style").read_text().splitlines()
    (tmp_path / "plain.py").write_text("a = 1\nb = 2\n")
    assert [(s.cell, s.lines) for s in read_sections(tmp_path / "plain.py")] == [(None, ["a = 1", "b = 2"])]


# --- grading -----------------------------------------------------------------------------------------------------


def test_a_notebook_grades_as_its_code_and_the_scorecard_speaks_of_the_notebook(tmp_path):
    path = corpus_notebook(tmp_path / "attention.ipynb", "mistake_no_scale")
    card = grade(path, "mhsa", "fake", seed=3)
    plain = grade(corpus_file("mistake_no_scale"), "mhsa", "fake", seed=3)
    assert card.status == "graded" and card.score == plain.score
    assert [d.id for d in card.diagnoses] == ["no_scale"]
    assert card.submission.path == str(path)
    assert card.submission.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card.message.startswith("Notebook: its code cells were graded in order; 4 IPython lines")


def test_a_cited_line_of_a_notebook_names_its_cell(tmp_path):
    path = corpus_notebook(tmp_path / "attention.ipynb", "mistake_builtin_mha")
    card = grade(path, "mhsa", "fake")
    scratch = next(item for item in card.items if item.id == "from_scratch")
    assert scratch.status == "failed"
    cited = cited_lines(scratch.feedback)
    assert cited and all(cell == 3 for cell, _ in cited), scratch.feedback
    lines = corpus_file("mistake_builtin_mha").read_text().splitlines()
    for _, line in cited:
        assert "MultiheadAttention" in lines[line - 1] or "multi_head" in lines[line - 1]


def test_a_syntax_error_in_a_cell_is_cited_in_that_cell(tmp_path):
    path = write_notebook(tmp_path / "n.ipynb", [("code", "import torch"), ("markdown", "text"),
                                                 ("code", "x = 1\ndef broken(:\n    pass")])
    card = grade(path, "mhsa", "fake")
    assert card.status == "compile_error"
    assert "cell 3, line 2" in card.message, card.message


def test_a_broken_notebook_is_the_candidates_compile_error_not_a_harness_fault(tmp_path):
    path = tmp_path / "work.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    card = grade(path, "mhsa", "fake")
    assert card.status == "compile_error" and card.score == 0
    assert "not a valid Jupyter notebook" in card.message and "work.ipynb" in card.message


@pytest.mark.slow
def test_a_notebook_grades_in_the_real_sandbox(tmp_path):
    path = corpus_notebook(tmp_path / "attention.ipynb", "correct_bmm_style")
    card = grade(path, "mhsa", "local")
    assert card.status == "graded" and card.runner.name == "local"
    assert next(i for i in card.items if i.id == "matches_reference").status == "passed"


# --- batch and LMS -----------------------------------------------------------------------------------------------


def test_a_batch_finds_notebooks_prefers_a_py_beside_one_and_keeps_the_sources(tmp_path):
    source = tmp_path / "class"
    (source / "bea").mkdir(parents=True)
    (source / "cal").mkdir()
    corpus_notebook(source / "ada.ipynb", "correct_bmm_style")
    corpus_notebook(source / "bea" / "work.ipynb", "mistake_no_scale")
    (source / "bea" / "helpers.py").write_text("def helper():\n    return 1\n")
    corpus_notebook(source / "cal" / "draft.ipynb", "mistake_no_scale")
    (source / "cal" / "final.py").write_text(corpus_file("correct_bmm_style").read_text())
    found = {s.student: s.path for s in discover_submissions(source, "MultiHeadSelfAttention", tmp_path / "w")}
    assert found == {"ada": source / "ada.ipynb", "bea": source / "bea" / "work.ipynb",
                     "cal": source / "cal" / "final.py"}
    out = tmp_path / "out"
    result = grade_batch(source, "mhsa", out, runner="fake", workers=1)
    assert result.total == 3 and result.failures == 0
    assert stored_source(out, "ada") == out / "sources" / "ada.ipynb"
    assert stored_source(out, "cal") == out / "sources" / "cal.py"
    assert (out / "sources" / "bea.ipynb").read_bytes() == (source / "bea" / "work.ipynb").read_bytes()
    card = json.loads((out / "scorecards" / "bea.json").read_text())
    assert card["diagnoses"][0]["id"] == "no_scale" and card["message"].startswith("Notebook:")


def test_a_zip_of_notebooks_is_graded(tmp_path):
    notebook = corpus_notebook(tmp_path / "n.ipynb", "correct_bmm_style")
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(notebook, "dan/attention.ipynb")
        bundle.writestr("dan/notes.txt", "not code")
        bundle.write(notebook, "eve.ipynb")
    found = discover_submissions(archive, "MultiHeadSelfAttention", tmp_path / "work")
    assert [(s.student, s.path.name if s.path else None) for s in found] == [("dan", "attention.ipynb"),
                                                                               ("eve", "eve.ipynb")]


def test_an_lms_upload_of_a_notebook_is_found(tmp_path):
    upload = tmp_path / "submission"
    upload.mkdir()
    corpus_notebook(upload / "Attention (1).ipynb", "correct_bmm_style")
    (upload / "scratch.py").write_text("print('hello')\n")
    assert find_submission(upload, "MultiHeadSelfAttention").path == upload / "Attention (1).ipynb"
