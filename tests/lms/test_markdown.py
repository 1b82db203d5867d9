from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from harness.reporters import REPORTERS, render_markdown
from harness.reporters._safe_text import printable
from harness.reporters.markdown import fenced, inline
from tests.lms.support_reports import NASTY, STATUSES, hidden_scorecard, item, scorecard
from tests.support import corpus_file

# The HTML the summary itself may produce once rendered; anything else came from candidate text.
OUR_TAGS = {"h2", "h3", "p", "strong", "em", "br", "table", "thead", "tbody", "tr", "th", "td", "ul", "li",
            "details", "summary", "pre", "code", "sub"}


class Page(HTMLParser):
    """Tags, link targets, and the text of every table cell (``<br>`` read as a line break)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.rows: list[list[str]] = []
        self.code: list[str] = []
        self._cell: list[str] | None = None
        self._in_code = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [value for name, value in attrs if name in ("href", "src")]
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        elif tag == "code":
            self._in_code = True
            self.code.append("")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif tag == "code":
            self._in_code = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_code:
            self.code[-1] += data


def github_page(markdown: str) -> Page:
    """The markdown rendered by GitHub's own cmark fork, raw HTML allowed (GitHub sanitises after; we need not)."""
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="rendering checks need cmarkgfm (GitHub's cmark; dev extra)")
    from cmarkgfm.cmark import Options

    page = Page()
    page.feed(cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE))
    return page


def table_lines(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


@pytest.fixture(scope="module")
def no_scale_card():
    from harness import grade

    return grade(corpus_file("mistake_no_scale"), "mhsa", "fake")


def test_real_scorecard_summary(no_scale_card):
    markdown = render_markdown(no_scale_card)
    assert markdown.startswith(f"## mhsa v1\\.0: {no_scale_card.score:g} / {no_scale_card.max_score:g}\n")
    assert len(table_lines(markdown)) == 2 + len(no_scale_card.items)
    assert "### Named mistakes" in markdown and "**no\\_scale**" in markdown
    page = github_page(markdown)
    assert len(page.rows) == 1 + len(no_scale_card.items)
    assert page.rows[1][:3] == ["interface: Class and constructor as specified", "✅ passed", "5 / 5"]
    scaling = next(row for row in page.rows if row[0].startswith("scaling:"))
    assert scaling[1] == "❌ failed" and scaling[3] == no_scale_card.items[4].feedback


def test_each_status_has_its_word():
    rows = table_lines(render_markdown(scorecard()))[2:]
    for status, row in zip(STATUSES, rows, strict=True):
        assert f" {status} |" in row


@pytest.mark.parametrize("status", STATUSES)
def test_nasty_feedback_cannot_break_the_table(status):
    card = scorecard([item("nasty", status, feedback=NASTY), item("after", "passed")], message=NASTY,
                     submission={"path": "evil|`<img src=x>`.py", "sha256": "0"})
    markdown = render_markdown(card)
    rows = table_lines(markdown)
    assert len(rows) == 4 and all(unescaped_pipes(row) == 5 for row in rows)
    assert "<script" not in markdown and "<img" not in markdown and "<!--" not in markdown
    assert not set(re.findall(r"<(/?[a-zA-Z]+)", markdown)) - {"br", "sub", "/sub"}

    page = github_page(markdown)
    assert set(page.tags) <= OUR_TAGS and "code" not in page.tags and "a" not in page.tags
    assert page.links == []
    assert [len(row) for row in page.rows] == [4, 4, 4]
    assert page.rows[1][3] == printable(NASTY).replace("\t", " ")  # renders as exactly the (escaped) text
    assert page.rows[2][0] == "after: Title of after"


def test_inline_reads_back_as_the_text_outside_a_table():
    text = "a*b*c _d_ [x](y) <b>bold</b> &copy; \\* `c` $m$ ~~s~~ #1 http://e.example"
    page = github_page(f"- {inline(text)}\n")
    assert page.tags == ["ul", "li"]


def test_withheld_items_are_shown_as_hidden():
    markdown = render_markdown(hidden_scorecard())
    assert "SECRET" not in markdown
    assert "## mhsa v1\\.0: 5 / 30" in markdown
    assert "3 items worth 20 points are withheld" in markdown
    hidden_rows = [row for row in table_lines(markdown) if "🔒 hidden" in row]
    assert len(hidden_rows) == 3 and all("– / " in row for row in hidden_rows)
    assert "Hidden until grades are published\\." in markdown
    assert "A visible mistake" in markdown and "secret\\_mistake" not in markdown


def test_the_panel_sees_everything():
    markdown = render_markdown(hidden_scorecard(), reveal_hidden=True)
    assert "SECRET\\-hidden" in markdown and "secret\\_mistake" in markdown and "🔒" not in markdown


def test_output_is_folded_in_a_fence_it_cannot_close():
    stdout = "printed\n```\n````\n</details>\n<script>x</script>"
    markdown = render_markdown(scorecard(logs={"stdout": stdout, "stderr": "Traceback \x1b[0m"}))
    assert "<details><summary>Output of the submission</summary>" in markdown
    page = github_page(markdown)
    assert page.code == [stdout + "\n", "Traceback \\x1b[0m\n"]
    assert "script" not in page.tags and page.tags.count("details") == 1


def test_fence_is_longer_than_any_backtick_run():
    assert fenced("a ````` b").startswith("``````text\n")
    assert fenced("plain").startswith("```text\n")


def test_long_feedback_is_bounded():
    markdown = render_markdown(scorecard([item("long", "failed", feedback="x" * 10_000)]))
    assert len(markdown) < 3_000 and "more characters not shown" in markdown


def test_registered():
    assert REPORTERS["markdown"] is render_markdown
