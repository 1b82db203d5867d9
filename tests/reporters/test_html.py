"""The HTML reports: what they show, what they withhold, that they escape everything and load nothing."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness import grade
from harness.cli import main
from harness.models import Diagnosis
from harness.reporters import REPORTERS, render_json
from harness.reporters._html_charts import histogram, horizontal_bars, ratio_bins
from harness.reporters.html import render_html
from harness.reporters.html_batch import BatchReportError, page_names, write_batch_html
from harness.submission_source import read_sections
from tests.harness.test_notebooks import corpus_notebook
from tests.support import corpus_file

ATTACKS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "</textarea><svg onload=1>"]


class Page(HTMLParser):
    """The tags, attributes, ids and text of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def having(self, tag: str, **attributes: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag and all(
            attrs.get(key.rstrip("_")) is not None and value in (attrs.get(key.rstrip("_")) or "").split()
            for key, value in attributes.items())]

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


@pytest.fixture(scope="module")
def cards():
    return {stem: grade(corpus_file(stem), "mhsa", "fake") for stem in
            ("correct_bmm_style", "mistake_builtin_mha", "mistake_no_scale", "broken_syntax_error")}


def assert_self_contained(html: str) -> None:
    page = Page(html)
    assert not page.having("script", src="") and not [a for t, a in page.tags if t == "script" and a.get("src")]
    assert not [a for t, a in page.tags if t in ("link", "img", "iframe", "object", "embed")]
    assert "url(http" not in html and "@import" not in html and "src=\"http" not in html


def test_a_report_shows_the_score_items_mistakes_and_the_cited_line(cards):
    card = cards["mistake_builtin_mha"]
    html = REPORTERS["html"](card)
    page = Page(html)
    assert f"{card.score:g} / {card.max_score:g}" in page.all_text
    assert all(item.title in page.all_text for item in card.items)
    assert "builtin_attention" in page.all_text
    cited = page.having("tr", class_="cited")
    lines = corpus_file("mistake_builtin_mha").read_text().splitlines()
    assert cited and all("MultiheadAttention" in lines[int(str(row["id"])[1:]) - 1] for row in cited)
    links = [a["href"] for a in page.having("a") if str(a.get("href", "")).startswith("#L")]
    assert links and all(href[1:] in {row["id"] for row in cited} for href in links)
    assert_self_contained(html)


def test_speed_and_memory_are_drawn_against_the_reference(cards):
    page = Page(render_html(cards["correct_bmm_style"]))
    assert "Speed and memory against the reference" in page.all_text
    assert len(page.having("rect", class_="reference")) >= 2 and page.having("rect", class_="bar")


def test_a_notebook_shows_its_cells_and_highlights_the_cited_cell_line(tmp_path):
    path = corpus_notebook(tmp_path / "work.ipynb", "mistake_builtin_mha")
    card = grade(path, "mhsa", "fake")
    page = Page(render_html(card))
    cited = [row["id"] for row in page.having("tr", class_="cited")]
    assert any(str(anchor).startswith("c3-L") for anchor in cited)  # the banned call, in the third cell
    assert {"c2-L1", "c2-L2", "c4-L1"} <= set(cited)  # the IPython lines the note says were left out
    assert {"cell 2", "cell 3", "cell 4"} <= {t.strip() for t in page.text}


def test_withheld_items_are_hidden_unless_revealed(cards):
    card = cards["mistake_no_scale"]
    items = [item.model_copy(update={"visibility": "hidden", "feedback": "SECRET-FEEDBACK"})
             if item.id == "scaling" else item for item in card.items]
    hidden = card.model_copy(update={"items": items})
    shown = render_html(hidden)
    assert "SECRET-FEEDBACK" not in shown and "withheld" in shown
    assert "SECRET-FEEDBACK" in render_html(hidden, reveal_hidden=True)


def test_every_candidate_string_is_text_never_markup(cards, tmp_path):
    card = cards["mistake_no_scale"]
    attack = " ".join(ATTACKS)
    source = tmp_path / "evil.py"
    source.write_text(f"# {attack}\nx = 1\n")
    items = [item.model_copy(update={"feedback": f"{attack} line 1"}) for item in card.items]
    evil = card.model_copy(update={
        "items": items, "message": attack,
        "diagnoses": [Diagnosis(id="no_scale", message=attack, evidence={attack: attack})],
        "logs": card.logs.model_copy(update={"stdout": attack, "stderr": attack}),
        "submission": card.submission.model_copy(update={"path": attack}),
    })
    html = render_html(evil, sections=read_sections(source))
    page = Page(html)
    assert not [t for t, _ in page.tags if t in ("img", "svg") and _.get("onerror") or _.get("onload")]
    assert [a for t, a in page.tags if t == "script"] == []
    assert "<script>alert" not in html and "<img" not in html
    assert "{{ 7*7 }}" in page.all_text  # shown as written, never evaluated by the template engine
    assert attack.split()[0] in page.all_text  # shown, as text
    assert_self_contained(html)


def test_the_report_says_when_the_graded_file_is_gone(cards, tmp_path):
    card = cards["correct_bmm_style"].model_copy()
    moved = card.model_copy(update={"submission": card.submission.model_copy(update={"path": str(tmp_path / "x")})})
    assert "not available to this report" in render_html(moved)


def test_chart_geometry_is_scaled_and_bounded():
    chart = histogram([0, 2, 4], ["a", "b", "c"], "t")
    assert chart.bars[2].height > chart.bars[1].height > chart.bars[0].height == 0
    assert all(bar.y + bar.height <= chart.axis_y + 1e-9 for bar in chart.bars)
    bars = horizontal_bars([("x", 0.5, "50%"), ("y", 1.0, "100%")], "t", 1.0)
    assert bars.bars[1].width == pytest.approx(2 * bars.bars[0].width)
    counts, labels = ratio_bins([0.4, 0.9, 1.0, 5.0])
    assert sum(counts) == 4 and counts[0] == 1 and counts[-1] == 1 and len(labels) == len(counts)


# --- the batch ----------------------------------------------------------------------------------------------------


def make_batch(root: Path, cards: dict, names: dict[str, str]) -> Path:
    """A batch folder as `harness batch` leaves it: scorecards and the sources kept."""
    for student, stem in names.items():
        card = cards[stem]
        (root / "scorecards").mkdir(parents=True, exist_ok=True)
        (root / "scorecards" / f"{student}.json").write_text(render_json(card))
        (root / "sources").mkdir(exist_ok=True)
        (root / "sources" / f"{student}.py").write_bytes(corpus_file(stem).read_bytes())
    return root


def test_page_names_are_safe_and_unique():
    names = page_names(["../../evil", "a/b", "a_b", ".hidden", "", "x" * 500])
    assert all("/" not in n and not n.startswith(".") and len(n) <= 90 for n in names.values())
    assert len(set(names.values())) == len(names)


def test_the_class_page_draws_the_class_and_links_every_student(cards, tmp_path):
    grades = make_batch(tmp_path / "grades", cards, {"ada": "correct_bmm_style", "bob": "mistake_no_scale",
                                                     "cy": "mistake_builtin_mha", "dee": "broken_syntax_error",
                                                     "eve": "mistake_no_scale"})
    out = tmp_path / "site" / "report.html"
    written = write_batch_html(grades, out)
    assert out in written and len(written) == 6
    page = Page(out.read_text())
    assert "5 submissions" in page.all_text
    histogram_bars = page.having("rect", class_="bar")
    assert len(histogram_bars) >= 10
    assert "no_scale" in page.all_text and "Pass rate per item" in page.all_text
    links = [a["href"] for a in page.having("a") if a.get("href")]
    assert len(links) == 5 and all((out.parent / str(href)).is_file() for href in links)
    assert len(page.having("button", class_="sort")) == 6 and "aria-sort" in out.read_text()
    bob = Page((out.parent / "report_students" / "bob.html").read_text())
    assert bob.having("tr", class_="cited") or "Source" in bob.all_text
    assert_self_contained(out.read_text())


def test_a_hostile_student_name_cannot_write_outside_or_inject(cards, tmp_path):
    grades = tmp_path / "grades"
    name = '..\u2215evil<img src=x onerror=1>'
    make_batch(grades, cards, {name: "correct_bmm_style", "ok": "mistake_no_scale"})
    out = tmp_path / "site" / "report.html"
    written = write_batch_html(grades, out)
    assert all(path.resolve().is_relative_to((tmp_path / "site").resolve()) for path in written)
    html = out.read_text()
    assert "<img" not in html and [t for t, a in Page(html).tags if t == "img"] == []


def test_a_folder_that_is_not_a_batch_or_holds_a_bad_scorecard_is_a_clear_error(tmp_path):
    with pytest.raises(BatchReportError, match="not a batch"):
        write_batch_html(tmp_path, tmp_path / "r.html")
    (tmp_path / "scorecards").mkdir()
    (tmp_path / "scorecards" / "ada.json").write_text('{"schema_version": 1}')
    with pytest.raises(BatchReportError, match=r"ada\.json"):
        write_batch_html(tmp_path, tmp_path / "r.html")
    result = CliRunner().invoke(main, ["report", str(tmp_path), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "ada.json" in result.output
    assert not (tmp_path / "r.html").exists()


def test_cli_grade_writes_html_and_report_needs_something_to_write(tmp_path):
    out = tmp_path / "card.html"
    result = CliRunner().invoke(main, ["grade", str(corpus_file("mistake_no_scale")), "--problem", "mhsa",
                                       "--runner", "fake", "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<!DOCTYPE html>") and re.search(r"<h1>mhsa v[\d.]+: 60 / 100</h1>",
                                                                       out.read_text())
    assert CliRunner().invoke(main, ["report", str(tmp_path)]).exit_code == 2


# --- readability ---------------------------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_contrast_is_computed_as_wcag_defines_it():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


def test_every_text_colour_has_contrast_of_at_least_4_5_on_its_background():
    from harness.reporters._html_style import PALETTE, stylesheet

    css = stylesheet()
    for name, (foreground, background) in PALETTE.items():
        assert f"--{name}-fg: {foreground};" in css and f"--{name}-bg: {background};" in css
        assert contrast(foreground, background) >= 4.5, (name, contrast(foreground, background))


def _headings(html: str) -> list[int]:
    return [int(tag[1]) for tag, _ in Page(html).tags if re.fullmatch(r"h[1-6]", tag)]


def test_headings_start_at_one_h1_and_skip_no_level(cards, tmp_path):
    grades = make_batch(tmp_path / "grades", cards, {"ada": "correct_bmm_style", "bob": "mistake_builtin_mha"})
    out = tmp_path / "report.html"
    write_batch_html(grades, out)
    for html in (render_html(cards["mistake_builtin_mha"]), out.read_text(),
                 (tmp_path / "report_students" / "bob.html").read_text()):
        levels = _headings(html)
        assert levels[0] == 1 and levels.count(1) == 1
        assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
        assert 'lang="en"' in html and "<title>" in html


def test_batch_writes_the_html_report_and_the_similarity_report(tmp_path):
    source = tmp_path / "class"
    source.mkdir()
    for name, stem in (("ada", "correct_bmm_style"), ("bob", "correct_bmm_style"), ("cy", "mistake_no_scale")):
        (source / f"{name}.py").write_bytes(corpus_file(stem).read_bytes())
    out, html = tmp_path / "grades", tmp_path / "report.html"
    result = CliRunner().invoke(main, ["batch", str(source), "--problem", "mhsa", "--out", str(out), "--runner",
                                       "fake", "--workers", "1", "--html", str(html), "--similarity"])
    assert result.exit_code == 0, result.output
    assert html.is_file() and (tmp_path / "report_students" / "cy.html").is_file()
    similarity = (out / "similarity.json").read_text()
    assert '"clusters": [\n    [\n      "ada",\n      "bob"' in similarity
    assert "similarity: wrote" in result.output
    refused = CliRunner().invoke(main, ["batch", str(source), "--problem", "mhsa", "--out", str(tmp_path / "o2"),
                                        "--starter", str(corpus_file("correct_bmm_style"))])
    assert refused.exit_code == 2 and "--starter is for --similarity" in refused.output
