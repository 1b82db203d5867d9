"""The similarity report: disguised copies are found, independent solutions are not, starter code never counts."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.similarity.clusters import clusters
from harness.similarity.command import (
    DEFAULT_THRESHOLD,
    SimilarityError,
    compute_report,
    write_similarity_report,
)
from harness.similarity.compare import PairScore, build_index, pair_scores
from harness.similarity.fingerprints import kgram_hash, winnow
from harness.similarity.report import SimilarityReport
from harness.similarity.tokens import normalised_tokens

CORPUS = Path(__file__).parent / "corpus"
STARTER = CORPUS / "starter.py"


def corpus_texts() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(CORPUS.glob("*.py")) if path.stem != "starter"}


def truth() -> set[frozenset[str]]:
    return {frozenset((entry["copy"], entry["original"]))
            for entry in yaml.safe_load((CORPUS / "truth.yaml").read_text())["copies"]}


@pytest.fixture(scope="module")
def report() -> SimilarityReport:
    return compute_report(corpus_texts(), {"starter.py": STARTER.read_text()})


def precision_recall(report: SimilarityReport, threshold: float) -> tuple[float, float]:
    flagged = {frozenset((pair.a, pair.b)) for pair in report.pairs if pair.score >= threshold}
    planted = truth()
    true_positives = len(flagged & planted)
    return (true_positives / len(flagged) if flagged else 1.0), true_positives / len(planted)


def test_precision_and_recall_on_the_planted_copies(report):
    precision, recall = precision_recall(report, DEFAULT_THRESHOLD)
    print(f"\nplanted copies: {len(truth())}; precision {precision:.2f}, recall {recall:.2f} at {DEFAULT_THRESHOLD}")
    assert len(truth()) >= 12
    assert precision >= 0.9 and recall >= 0.9


@pytest.mark.parametrize("entry", yaml.safe_load((CORPUS / "truth.yaml").read_text())["copies"],
                         ids=lambda entry: entry["copy"])
def test_each_disguise_leaves_the_copy_above_the_threshold(report, entry):
    pair = next(p for p in report.pairs if {p.a, p.b} == {entry["copy"], entry["original"]})
    assert pair.score >= DEFAULT_THRESHOLD, (entry, pair.score)
    assert pair.regions, "a flagged pair says where the shared code is"


def test_independent_solutions_stay_below_the_threshold(report):
    planted = truth()
    for pair in report.pairs:
        if frozenset((pair.a, pair.b)) not in planted:
            assert pair.score < DEFAULT_THRESHOLD, pair


def test_starter_code_alone_shares_nothing():
    texts = {"only_starter": STARTER.read_text(), "also_starter": STARTER.read_text() + "\n# my notes\n",
             "real": (CORPUS / "ind01_separate_linears.py").read_text()}
    result = compute_report(texts, {"starter.py": STARTER.read_text()})
    pair = next((p for p in result.pairs if {p.a, p.b} == {"only_starter", "also_starter"}), None)
    assert pair is None or pair.score == 0
    without = compute_report(texts, {})
    assert next(p for p in without.pairs if {p.a, p.b} == {"only_starter", "also_starter"}).score == 1.0


def test_renaming_reformatting_and_comments_do_not_change_the_tokens():
    original = "def f(a, b):\n    total = a + b  # add\n    return total * 2\n"
    disguised = "def g(x,\n      y):\n    '''Sum.'''\n    s = x + \\\n        y\n\n    return s * 3\n"
    assert [t.text for t in normalised_tokens(original).tokens] == [t.text for t in normalised_tokens(disguised).tokens]


def test_a_file_that_does_not_tokenize_still_gives_its_tokens_and_says_so():
    stream = normalised_tokens("x = torch.softmax(y, dim=-1)\ndef broken(:\n")
    assert stream.tokens and stream.error


def test_winnowing_is_stable_and_keeps_a_fingerprint_per_window():
    hashes = [kgram_hash([str(i)]) for i in range(50)]
    kept = winnow(hashes, 4)
    assert kept == winnow(hashes, 4) and len(kept) >= len(hashes) // 4
    assert kgram_hash(["ab", "c"]) != kgram_hash(["a", "bc"])


def test_clusters_join_pairs_transitively():
    pairs = [PairScore("a", "b", 5, 0.9, 0.9), PairScore("b", "c", 5, 0.8, 0.8), PairScore("d", "e", 5, 0.7, 0.7),
             PairScore("a", "d", 1, 0.1, 0.1)]
    assert clusters(pairs, 0.5) == [["a", "b", "c"], ["d", "e"]]


def test_the_index_counts_the_same_pairs_as_comparing_every_pair():
    streams = {name: normalised_tokens(text).tokens for name, text in corpus_texts().items()}
    index = build_index(streams)
    by_index = {(s.a, s.b): s.shared for s in pair_scores(index)}
    for a, b in itertools.combinations(sorted(index.submissions), 2):
        shared = len(index.submissions[a].hashes & index.submissions[b].hashes)
        assert by_index.get((a, b), 0) == shared


def make_grades(root: Path, texts: dict[str, str]) -> Path:
    (root / "sources").mkdir(parents=True)
    for name, text in texts.items():
        (root / "sources" / f"{name}.py").write_text(text)
    return root


def test_the_html_and_json_escape_hostile_names_and_sources(tmp_path):
    hostile = "</script><script>alert(1)</script>"
    texts = {"ind01": (CORPUS / "ind01_separate_linears.py").read_text(),
             "copy": (CORPUS / "copy01_rename.py").read_text() + f"\n# {hostile}\n",
             "x<img src=x onerror=1>": (CORPUS / "copy01_rename.py").read_text()}
    grades = make_grades(tmp_path / "grades", texts)
    result = write_similarity_report(grades, grades, starter=[STARTER])
    html = (grades / "similarity.html").read_text()
    assert "<script>alert" not in html and "<img" not in html and "&lt;img src=x" in html
    assert "<script" not in html
    SimilarityReport.model_validate_json((grades / "similarity.json").read_text())
    assert result.flagged() and result.clusters == [sorted(texts)]


def test_a_notebook_source_is_compared_as_its_code(tmp_path):
    from tests.harness.test_notebooks import write_notebook

    grades = make_grades(tmp_path / "grades", {"ind": (CORPUS / "ind04_bmm.py").read_text()})
    write_notebook(grades / "sources" / "nb.ipynb", [("markdown", "# mine"), ("code", "%matplotlib inline"),
                                                    ("code", (CORPUS / "ind04_bmm.py").read_text())])
    result = write_similarity_report(grades, grades)
    assert result.pairs[0].score == 1.0


def test_cli_writes_both_files_and_refuses_a_folder_without_sources(tmp_path):
    grades = make_grades(tmp_path / "grades", corpus_texts())
    done = CliRunner().invoke(main, ["similarity", str(grades), "--starter", str(STARTER)])
    assert done.exit_code == 0, done.output
    assert "12 pairs at or above 0.5" in done.output
    data = json.loads((grades / "similarity.json").read_text())
    assert data["students"] == 30 and len(data["clusters"]) == 12
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = CliRunner().invoke(main, ["similarity", str(empty)])
    assert refused.exit_code == 2 and "no sources/ folder" in refused.output
    with pytest.raises(SimilarityError):
        write_similarity_report(grades, grades, threshold=1.5)
