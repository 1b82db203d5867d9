"""The similarity report: disguised copies are found, independent solutions are not, starter code never counts."""

from __future__ import annotations

import itertools
import json

import pytest
from click.testing import CliRunner

from harness.similarity.clusters import cluster_details, clusters
from harness.similarity.command import (
    DEFAULT_THRESHOLD,
    SimilarityError,
    compute_report,
    similarity_command,
    write_similarity_report,
)
from harness.similarity.compare import PairScore, build_index, merged_ranges, pair_scores
from harness.similarity.fingerprints import fingerprints, kgram_hash, winnow
from harness.similarity.report import MAX_LINE_CHARS, SimilarityReport, render_html
from harness.similarity.tokens import normalised_tokens
from tests.similarity.support import (
    CORPUS,
    STARTER,
    copied_pairs,
    corpus_texts,
    families,
    make_grades,
    planted_copies,
    write_notebook,
)


@pytest.fixture(scope="module")
def report() -> SimilarityReport:
    return compute_report(corpus_texts(), {"starter.py": STARTER.read_text()})


def precision_recall(report: SimilarityReport, threshold: float) -> tuple[float, float]:
    flagged = {frozenset((pair.a, pair.b)) for pair in report.pairs if pair.score >= threshold}
    planted = copied_pairs()
    hits = len(flagged & planted)
    return (hits / len(flagged) if flagged else 1.0), hits / len(planted)


def test_precision_and_recall_on_the_planted_copies(report):
    precision, recall = precision_recall(report, DEFAULT_THRESHOLD)
    print(f"\n{len(planted_copies())} planted copies, {len(copied_pairs())} copied pairs: precision "
          f"{precision:.2f}, recall {recall:.2f} at {DEFAULT_THRESHOLD}")
    assert len(planted_copies()) >= 12 and len([n for n in corpus_texts() if n.startswith("ind")]) >= 16
    assert precision >= 0.9 and recall >= 0.9


@pytest.mark.parametrize("entry", planted_copies(), ids=lambda entry: entry["copy"])
def test_each_disguise_leaves_the_copy_above_the_threshold(report, entry):
    pair = next(p for p in report.pairs if {p.a, p.b} == {entry["copy"], entry["original"]})
    assert pair.score >= DEFAULT_THRESHOLD and pair.above_threshold, (entry, pair.score)
    assert pair.regions and pair.lines_a and pair.lines_b, "a flagged pair says where the shared code is"


def test_every_single_disguise_is_planted_alone():
    alone = {entry["disguises"][0] for entry in planted_copies() if len(entry["disguises"]) == 1}
    assert {"rename", "reformat", "reorder", "comments", "dead_code", "inline_helper"} <= alone


def test_independent_solutions_stay_below_the_threshold(report):
    planted = copied_pairs()
    independent = [pair for pair in report.pairs if frozenset((pair.a, pair.b)) not in planted]
    assert independent and max(pair.score for pair in independent) < DEFAULT_THRESHOLD


def test_the_clusters_of_the_corpus_are_its_families(report):
    found = [set(group.members) for group in report.clusters]
    assert all(any(group <= family for family in families()) for group in found)
    assert len(found) == len(families())


def test_starter_code_alone_shares_nothing():
    texts = {"only_starter": STARTER.read_text(), "also_starter": STARTER.read_text() + "\n# my notes\n",
             "real": (CORPUS / "ind01_separate_linears.py").read_text()}
    with_starter = compute_report(texts, {"starter.py": STARTER.read_text()})
    assert all(pair.score == 0 for pair in with_starter.pairs if "real" not in (pair.a, pair.b))
    assert all(pair.score < 0.05 for pair in with_starter.pairs)
    without = compute_report(texts, {})
    assert next(p for p in without.pairs if {p.a, p.b} == {"only_starter", "also_starter"}).score == 1.0


def test_renaming_reformatting_and_comments_do_not_change_the_tokens():
    original = "def f(a, b):\n    total = a + b  # add\n    return torch.sum(total.view(-1), dim=0)\n"
    disguised = ("def g(x,\n      y,):\n    '''Sum.'''\n    s = x + \\\n        y\n\n"
                 "    return torch.sum(s.view(-2),\n                     dim=1)\n")
    assert [t.text for t in normalised_tokens(original).tokens] == [t.text for t in normalised_tokens(disguised).tokens]


def test_type_annotations_are_dropped_and_colons_that_are_not_theirs_kept():
    plain = "def f(self, x, n=3):\n    q = g(x)\n    d = {NUM: q[1:2]}\n    return lambda y: q\n"
    annotated = ("def f(self, x: 'torch.Tensor', n: int = 3) -> Optional[torch.Tensor]:\n    seq: int\n"
                 "    q: torch.Tensor = g(x)\n    d: dict[int, Tensor] = {NUM: q[1:2]}\n    return lambda y: q\n")
    assert [t.text for t in normalised_tokens(annotated).tokens] == [t.text for t in normalised_tokens(plain).tokens]
    wide = normalised_tokens("é = 1\nclass A:\n    é_and_more: int = 1  # é\n    b: str\n").tokens
    assert [t.text for t in wide] == ["ID", "=", "NUM", "class", "ID", ":", "ID", "=", "NUM"]  # columns in chars


def test_api_names_are_kept_and_local_names_are_not():
    texts = [t.text for t in normalised_tokens("import torch\nq = torch.softmax(self.w(x), dim=-1)\n").tokens]
    assert texts == ["import", "torch", "ID", "=", "torch", ".", "softmax", "(", "self", ".", "w", "(", "x", ")",
                     ",", "dim", "=", "-", "NUM", ")"]
    assigned = [t.text for t in normalised_tokens("self.w = 1\ny = self.w.transpose(0, 1)\n").tokens]
    assert assigned[:3] == ["self", ".", "ID"] and "transpose" in assigned and "w" not in assigned


def test_tokens_keep_their_source_lines():
    stream = normalised_tokens("x = 1\n\n# note\ny = (x +\n     2)\n")
    assert [(t.text, t.line) for t in stream.tokens][-3:] == [("+", 4), ("NUM", 5), (")", 5)]


def test_a_file_that_does_not_tokenize_still_gives_its_tokens_and_says_so():
    stream = normalised_tokens("x = torch.softmax(y, dim=-1)\ndef broken(:\n")
    assert stream.tokens and stream.error and "line" in stream.error
    unterminated = normalised_tokens("a = f(b,\n")
    assert unterminated.tokens and unterminated.error


def test_winnowing_is_stable_robust_and_keeps_a_fingerprint_per_window():
    hashes = [kgram_hash([str(i)]) for i in range(50)]
    kept = winnow(hashes, 4)
    assert kept == winnow(hashes, 4) and all(b - a <= 4 for a, b in zip(kept, kept[1:], strict=False))
    # Robust winnowing: a run of ties keeps the rightmost of the first window until it leaves the window.
    assert winnow([5, 5, 5, 5, 5, 5, 5], 3) == [2, 5]
    assert winnow([3, 1, 4], 8) == [1], "fewer hashes than a window still give a fingerprint"
    assert kgram_hash(["ab", "c"]) != kgram_hash(["a", "bc"])
    assert kgram_hash(["torch", ".", "view"]) == 0xe2ffa0d5479f1a69  # stable: not hash()


def test_fingerprints_span_the_lines_of_their_kgram():
    tokens = normalised_tokens("a = 1\nb = 2\nc = 3\nd = 4\n").tokens
    prints = fingerprints(tokens, k=6, w=1)
    assert [(p.first_line, p.last_line) for p in prints][:4] == [(1, 2), (1, 3), (1, 3), (2, 3)]


def test_clusters_join_pairs_transitively_and_name_their_strongest_pairs():
    pairs = [PairScore("a", "b", 5, 0.9, 0.9), PairScore("b", "c", 5, 0.8, 0.6), PairScore("d", "e", 5, 0.7, 0.7),
             PairScore("a", "d", 1, 0.1, 0.1), PairScore("f", "g", 1, 0.2, 0.3)]
    assert clusters(pairs, 0.5) == [["a", "b", "c"], ["d", "e"]]
    detailed = cluster_details(pairs, 0.5)
    assert [(p.a, p.b) for p in detailed[0].strongest] == [("a", "b"), ("b", "c")]


def test_merged_ranges_join_overlapping_and_touching_spans():
    assert merged_ranges([(5, 7), (1, 2), (3, 4), (6, 9), (12, 12)]) == [(1, 9), (12, 12)]


def test_the_index_counts_the_same_pairs_as_comparing_every_pair():
    streams = {name: normalised_tokens(text).tokens for name, text in corpus_texts().items()}
    index = build_index(streams)
    by_index = {(s.a, s.b): s.shared for s in pair_scores(index)}
    for a, b in itertools.combinations(sorted(index.submissions), 2):
        assert by_index.get((a, b), 0) == len(index.submissions[a].hashes & index.submissions[b].hashes)


def test_boilerplate_held_by_most_of_the_class_is_ignored():
    shared = "def f(x):\n    return torch.cat([x, x.flip(0), x.cumsum(0), x.mean(0, keepdim=True)], dim=0)\n"
    texts = {f"s{n}": shared + f"\nv{n} = [{', '.join(str(n * 7 + j) for j in range(n % 5 + 1))}]\n"
             for n in range(8)}
    index = build_index({name: normalised_tokens(text).tokens for name, text in texts.items()})
    assert index.common and all(not set(sub.hashes) & index.common for sub in index.submissions.values())


def test_the_html_and_json_escape_hostile_names_and_sources(tmp_path):
    hostile = "</script><script>alert(1)</script>"
    copy = (CORPUS / "copy01_rename.py").read_text()
    texts = {"ind01": (CORPUS / "ind01_separate_linears.py").read_text(),
             hostile: copy + f"\n# {hostile}\nx = '{hostile}'\n" + "y = 1  # " + "z" * 5000 + "\n",
             "x<img src=x onerror=1>": copy}
    result = compute_report(texts, {"starter.py": STARTER.read_text()})
    html = render_html(result, texts)
    assert "<script" not in html and "<img" not in html
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;img src=x" in html
    assert "z" * (MAX_LINE_CHARS + 1) not in html
    again = SimilarityReport.model_validate_json(result.model_dump_json())
    assert again == result and hostile in json.loads(result.model_dump_json())["pairs"][0].values()
    assert [group.members for group in result.clusters] == [sorted(texts)]


def test_the_written_report_validates_against_its_model(tmp_path):
    grades = make_grades(tmp_path / "grades", {n: t for n, t in corpus_texts().items() if n < "copy04"
                                               or n.startswith("ind0")})
    (grades / "sources" / "notes.txt").write_text("not code")
    (grades / "sources" / "broken.py").write_text("def f(:\n    return 1\n")
    result = write_similarity_report(grades, tmp_path / "out", starter=[STARTER], problem="mhsa")
    loaded = SimilarityReport.model_validate_json((tmp_path / "out" / "similarity.json").read_text())
    assert loaded == result and loaded.parameters.problem == "mhsa" and loaded.parameters.starter_files
    assert {s.student for s in loaded.skipped} == {"notes.txt", "broken"}
    html = (tmp_path / "out" / "similarity.html").read_text()
    assert "to mhsa" in html and 'href="#pair-1"' in html and 'id="p1-a-L' in html and 'class="r0"' in html
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_a_notebook_source_is_compared_as_its_code(tmp_path):
    code = (CORPUS / "ind04_bmm.py").read_text()
    grades = make_grades(tmp_path / "grades", {"ind": code})
    write_notebook(grades / "sources" / "nb.ipynb", [("markdown", "# mine"), ("code", "%matplotlib inline"),
                                                    ("code", code)])
    result = write_similarity_report(grades, grades)
    assert result.pairs[0].score == 1.0 and {result.pairs[0].a, result.pairs[0].b} == {"ind", "nb"}


def test_cli_writes_both_files_and_refuses_a_folder_without_sources(tmp_path):
    grades = make_grades(tmp_path / "grades", corpus_texts())
    done = CliRunner().invoke(similarity_command, [str(grades), "--starter", str(STARTER), "--out",
                                                   str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    data = json.loads((tmp_path / "out" / "similarity.json").read_text())
    flagged = sum(pair["above_threshold"] for pair in data["pairs"])
    assert f"{flagged} pairs at or above 0.5" in done.output and flagged >= len(planted_copies())
    assert data["students"] == len(corpus_texts()) and (tmp_path / "out" / "similarity.html").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    refused = CliRunner().invoke(similarity_command, [str(empty)])
    assert refused.exit_code == 2 and "no sources/ folder" in refused.output and str(empty) in refused.output
    with pytest.raises(SimilarityError):
        write_similarity_report(grades, grades, threshold=1.5)
