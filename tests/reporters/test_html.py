"""The HTML reports: what they show, what they withhold, that they escape everything and load nothing."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from click.testing import CliRunner

from harness import grade
from harness.cli import main
from harness.models import Diagnosis
from harness.reporters import REPORTERS, render_json
from harness.reporters._html_charts import Measured, comparison, histogram, horizontal_bars, ratio_bins
from harness.reporters.html import measurements, render_html
from harness.reporters.html_batch import BatchReportError, page_names, render_batch_html, write_batch_html
from harness.submission_source import SourceSection, cited_lines, read_sections
from tests.lms.support_reports import hidden_scorecard, item, scorecard
from tests.reporters.support import Page, make_batch, notebook
from tests.support import corpus_file

ATTACKS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "{{ 7*7 }}", "</textarea><svg onload=1>"]


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
    source = corpus_file("mistake_builtin_mha").read_text()
    path = notebook(tmp_path / "work.ipynb", [("markdown", "# My attention"), ("code", "!pip list\n%matplotlib inline"),
                                              ("code", source), ("markdown", "The end.")])
    card = grade(path, "mhsa", "fake")
    page = Page(render_html(card))
    cited = {str(row["id"]) for row in page.having("tr", class_="cited")}
    banned = next(n for n, line in enumerate(source.splitlines(), 1) if "nn.MultiheadAttention(" in line)
    assert f"c3-L{banned}" in cited  # the banned call, in the third cell (the markdown cell counts)
    assert {"c2-L1", "c2-L2"} <= cited  # the IPython lines the message says were left out
    assert f'href="#c3-L{banned}"' in render_html(card)
    assert {"cell 2", "cell 3"} <= {t.strip() for t in page.text} and "cell 4" not in {t.strip() for t in page.text}


def test_a_citation_links_only_to_a_line_the_page_shows():
    card = scorecard([item("a", "failed", feedback="see line 2 and line 99, and cell 1, line 1")])
    html = render_html(card, sections=[SourceSection("", None, ["x = 1", "y = 2"])])
    page = Page(html)
    assert [row["id"] for row in page.having("tr", class_="cited")] == ["L2"]
    assert [a["href"] for a in page.having("a")] == ["#L2"]  # line 99 is not on the page, nor is a cell
    assert cited_lines("see line 2 and line 99, and cell 1, line 1") == {(None, 2), (None, 99), (1, 1)}


def test_withheld_items_are_hidden_unless_revealed(cards):
    card = cards["mistake_no_scale"]
    items = [item.model_copy(update={"visibility": "hidden", "feedback": "SECRET-FEEDBACK"})
             if item.id == "scaling" else item for item in card.items]
    hidden = card.model_copy(update={"items": items})
    shown = render_html(hidden)
    assert "SECRET-FEEDBACK" not in shown and "withheld" in shown
    assert "SECRET-FEEDBACK" in render_html(hidden, reveal_hidden=True)


def test_withheld_items_mistakes_and_measurements_stay_out_of_the_candidate_page():
    card = hidden_scorecard()
    timing = item("secret_speed", "failed", feedback="SECRET-speed", visibility="hidden")
    timing = timing.model_copy(update={"details": {"candidate_s": 0.9, "reference_s": 0.1, "allowed_ratio": 3.0}})
    card = card.model_copy(update={"items": [*card.items, timing]})
    page = Page(render_html(card, sections=[]))
    assert "SECRET" not in page.all_text and "secret_mistake" not in page.all_text
    assert "shown_mistake" in page.all_text and "Time per forward" not in page.all_text
    assert "5 / 30" in page.all_text  # the score counts the shown items only, out of the maximum
    revealed = Page(render_html(card, reveal_hidden=True, sections=[]))
    assert all(word in revealed.all_text for word in ("SECRET-hidden", "SECRET-speed", "secret_mistake",
                                                      "Time per forward", "900.0 ms"))


def test_every_candidate_string_in_a_hand_made_card_is_text(tmp_path):
    attack = " ".join(ATTACKS)
    card = scorecard([item(attack, "failed", feedback=f"{attack} line 1")], message=attack,
                     submission={"path": f"{attack}.py", "sha256": "0" * 64},
                     diagnoses=[Diagnosis(id=attack, message=attack, evidence={attack: attack, "n": [attack]})],
                     logs={"stdout": attack, "stderr": attack, "stdout_bytes": 1, "stderr_bytes": 1})
    html = render_html(card, sections=[SourceSection("", None, [attack])])
    page = Page(html)
    assert "<script>alert" not in html and "<img" not in html and "<svg onload" not in html
    assert [a for t, a in page.tags if t == "script"] == [] and not page.having("img")
    assert "49" not in page.all_text and page.all_text.count("{{ 7*7 }}") >= 7
    assert "\"><img src=x onerror=alert(1)>" in page.all_text  # shown as the candidate wrote it
    assert_self_contained(html)


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


def test_the_comparison_puts_the_limit_on_each_quantitys_own_scale():
    drawn = comparison([Measured("Time", "ms", 30.0, 10.0, 60.0), Measured("Memory", "MiB", 5.0, 10.0, None)], "t")
    time, memory = drawn.pairs
    assert time.allowed_x == pytest.approx(drawn.origin + 2 * time.candidate_width, abs=0.2)  # 60 is twice 30
    assert time.candidate_width == pytest.approx(3 * time.reference_width, abs=0.2)
    assert memory.allowed_x is None and memory.reference_width == pytest.approx(2 * memory.candidate_width, abs=0.2)
    assert time.candidate_text == "30.0 ms (3.00x)" and time.allowed_text == "allowed 60 ms"
    assert max(time.allowed_x, drawn.origin + memory.reference_width) < drawn.width - 100  # room for the texts


def test_measurements_are_read_from_the_benchmark_items_details(cards):
    found = measurements(cards["correct_bmm_style"])
    timing = next(m for m in found if m.unit == "ms")
    details = next(i.details for i in cards["correct_bmm_style"].items if "candidate_s" in i.details)
    assert timing.candidate == pytest.approx(1000 * details["candidate_s"])
    assert timing.allowed == pytest.approx(1000 * details["reference_s"] * details["allowed_ratio"])
    odd = scorecard([item("m").model_copy(update={"details": {"candidate_peak_mb": True, "reference_peak_mb": 3}}),
                     item("t").model_copy(update={"details": {"candidate_s": float("nan"), "reference_s": 1}})])
    assert measurements(odd) == []  # a flag or a NaN is not a measurement
    assert "Nothing was measured" in render_html(odd, sections=[])


# --- the batch ----------------------------------------------------------------------------------------------------


def test_page_names_are_safe_and_unique():
    students = ["../../evil", "a/b", "a_b", "A_B", ".hidden", "", "x" * 500, "..", "a\\b"]
    names = page_names(students)
    for name in names.values():
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,80}(-\d+)?\.html", name), name
        assert ".." not in name and not name.startswith(".")
    assert len({n.lower() for n in names.values()}) == len(students)  # unique on a case-blind file system too


def test_the_class_page_draws_the_class_and_links_every_student(cards, tmp_path):
    names = {"ada": "correct_bmm_style", "bob": "mistake_no_scale", "cy": "mistake_builtin_mha",
             "dee": "broken_syntax_error", "eve": "mistake_no_scale"}
    grades = make_batch(tmp_path / "grades", cards, names)
    out = tmp_path / "site" / "report.html"
    written = write_batch_html(grades, out)
    assert written[0] == out and len(written) == 6 and all(path.is_file() for path in written)
    html = out.read_text()
    page = Page(html)
    assert "5 submissions" in page.all_text
    bins = page.having("rect", class_="score-bin")
    assert len(bins) == 10
    counts = [int(t) for t in re.findall(r'class="bar score-bin"[^>]*>.*?</rect>\s*<text[^>]*>[^<]*</text>\s*'
                                         r'<text[^>]*>(\d+)</text>', html, re.S)]
    assert sum(counts) == 5
    graded = [cards[stem] for stem in names.values()]
    for item_id in ("from_scratch", "scaling", "interface"):
        results = [i for card in graded for i in card.items if i.id == item_id]
        passed = sum(i.status == "passed" for i in results)
        assert f"{100 * passed / len(results):.0f}% ({passed})" in page.all_text
    assert "no_scale" in page.all_text and "Pass rate per item" in page.all_text
    links = [a["href"] for a in page.having("a") if a.get("href")]
    assert len(links) == 5 and all((out.parent / str(href)).is_file() for href in links)
    buttons = page.having("button", class_="sort")
    assert len(buttons) == 6 and len(page.having("th", scope="col")) == 6
    assert all(attrs.get("aria-sort") for name, attrs in page.tags if name == "th" and attrs.get("scope") == "col")
    assert "function sortBy" in " ".join(page.script) and "location.hash" in " ".join(page.script)
    bob = Page((out.parent / "report_students" / "bob.html").read_text())
    assert "no_scale" in bob.all_text and bob.having("tr", id="L1")  # its kept source is shown
    back = [a["href"] for a in bob.having("a") if "class report" in a.get("href", "") or a.get("href") ==
            "../report.html"]
    assert back == ["../report.html"] and (out.parent / "report_students" / str(back[0])).resolve() == out.resolve()
    assert_self_contained(html)


def test_writing_the_class_report_again_removes_the_pages_of_students_gone(cards, tmp_path):
    grades = make_batch(tmp_path / "grades", cards, {"ada": "correct_bmm_style", "bob": "mistake_no_scale"})
    out = tmp_path / "site" / "report.html"
    write_batch_html(grades, out)
    notes = out.parent / "report_students" / "notes.txt"
    notes.write_text("an instructor's own file")
    (grades / "scorecards" / "bob.json").unlink()
    write_batch_html(grades, out)
    assert sorted(p.name for p in (out.parent / "report_students").iterdir()) == ["ada.html", "notes.txt"]


def test_a_student_page_shows_hidden_items_and_only_the_source_that_was_graded(cards, tmp_path):
    card = hidden_scorecard()
    kept = b"x = 1\n"
    card = card.model_copy(update={"submission": card.submission.model_copy(
        update={"sha256": hashlib.sha256(kept).hexdigest()})})
    grades = tmp_path / "grades"
    (grades / "scorecards").mkdir(parents=True)
    (grades / "sources").mkdir()
    for student in ("kept", "changed"):
        (grades / "scorecards" / f"{student}.json").write_text(render_json(card))
    (grades / "sources" / "kept.py").write_bytes(kept)
    (grades / "sources" / "changed.py").write_bytes(b"x = 2  # edited after grading\n")
    write_batch_html(grades, tmp_path / "r.html", problems_dirs=[])
    kept_page = Page((tmp_path / "r_students" / "kept.html").read_text())
    assert "SECRET-hidden" in kept_page.all_text and kept_page.having("tr", id="L1")
    changed_page = (tmp_path / "r_students" / "changed.html").read_text()
    assert "edited after grading" not in changed_page and "not available to this report" in changed_page


def test_the_rubric_orders_the_pass_rates_and_hostile_names_stay_text(cards):
    evil = {"../../evil": cards["mistake_no_scale"], "a/b": cards["correct_bmm_style"],
            '"><img src=x onerror=alert(1)>': cards["mistake_builtin_mha"]}
    pages = page_names(sorted(evil))
    rubric = [(i.id, i.title) for i in reversed(cards["mistake_no_scale"].items)]
    html = render_batch_html(evil, pages, "r_students", "{{ 7*7 }}", rubric)
    page = Page(html)
    assert "<img" not in html and re.search(r"<h1>\{\{ 7\*7 \}\}: 3 submissions</h1>", html)
    hrefs = [str(a["href"]) for a in page.having("a")]
    assert len(hrefs) == 3 and all(h.startswith("r_students/") and h.count("/") == 1 and ".." not in h for h in hrefs)
    titles = [t.strip() for t in page.text if t.strip() in dict(rubric).values()]
    assert titles[:2] == [rubric[0][1], rubric[1][1]]  # memory first: the order given


def test_a_hostile_student_name_cannot_write_outside_or_inject(cards, tmp_path):
    grades = tmp_path / "grades"
    name = '..\u2215evil<img src=x onerror=1>'
    make_batch(grades, cards, {name: "correct_bmm_style", "..": "mistake_no_scale", "ok": "mistake_no_scale"})
    out = tmp_path / "site" / "report.html"
    written = write_batch_html(grades, out)
    assert len(written) == 4
    assert all(path.resolve().parent == (tmp_path / "site" / "report_students").resolve() for path in written[1:])
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


SURFACES = ("--page-bg", "--panel-bg", "--code-bg")
"""The backgrounds content sits on: a rule that sets a text colour but no background is read on each of them."""


def colour_pairs(css: str) -> list[tuple[str, str, str]]:
    """(selector, text colour, background) for every rule of ``css`` that sets a text colour or a background.

    Custom properties are read from ``:root`` and ``var()`` resolved; ``fill`` counts as the text colour in a rule
    about SVG text. A rule with a text colour only is paired with every surface, one with a background only with
    the page's text colour.
    """
    root = re.search(r":root\s*\{([^}]*)\}", css)
    assert root, "no :root block of custom properties"
    variables = dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", root.group(1)))

    def resolve(value: str) -> str | None:
        value = value.strip()
        while value.startswith("var("):
            value = variables[value[4:-1].strip()].strip()
        return value if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else None

    pairs = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        selector = selector.strip()
        if selector == ":root":
            continue
        declared = {k.strip(): v for k, v in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body)}
        text = declared.get("color") or (declared.get("fill") if re.search(r"\btext\b", selector) else None)
        background = declared.get("background") or declared.get("background-color")
        fg, bg = (resolve(text) if text else None), (resolve(background) if background else None)
        if fg and bg:
            pairs.append((selector, fg, bg))
        elif fg:
            pairs += [(selector, fg, variables[surface]) for surface in SURFACES]
        elif bg:
            pairs.append((selector, variables["--page-fg"], bg))
    return pairs


def test_the_contrast_check_reads_the_css_and_would_catch_a_faint_colour():
    css = ":root { --page-fg: #000000; --page-bg: #ffffff; --panel-bg: #ffffff; --code-bg: #ffffff; --x: #aaaaaa; }" \
          " .a { color: var(--x); } .b { color: #ffffff; background: #000000; }"
    worst = {selector: min(contrast(fg, bg) for s, fg, bg in colour_pairs(css) if s == selector)
             for selector in (".a", ".b")}
    assert worst[".a"] < 4.5 <= worst[".b"]


def test_every_text_colour_in_the_stylesheet_has_contrast_of_at_least_4_5():
    from harness.reporters._html_style import stylesheet

    pairs = colour_pairs(stylesheet())
    assert len({selector for selector, _, _ in pairs}) >= 15  # badges, links, muted text, source, chart labels
    faint = [(selector, fg, bg, round(contrast(fg, bg), 2)) for selector, fg, bg in pairs if contrast(fg, bg) < 4.5]
    assert faint == []


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
    clusters = json.loads((out / "similarity.json").read_text())["clusters"]
    assert any('"ada"' in json.dumps(c) and '"bob"' in json.dumps(c) for c in clusters)
    assert "similarity: wrote" in result.output
    refused = CliRunner().invoke(main, ["batch", str(source), "--problem", "mhsa", "--out", str(tmp_path / "o2"),
                                        "--starter", str(corpus_file("correct_bmm_style"))])
    assert refused.exit_code == 2 and "--starter is for --similarity" in refused.output
