"""Helpers of the HTML report tests: a page parser, batch folders and notebooks built by hand."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import nbformat

from harness.models import Scorecard
from harness.reporters import render_json
from tests.support import corpus_file


class Page(HTMLParser):
    """The tags, attributes and text of a page, as a browser's parser sees them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.script: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        (self.script if self._in_script else self.text).append(data)

    def having(self, tag: str, **attributes: str) -> list[dict[str, str | None]]:
        """The attributes of every ``tag`` whose attributes hold these values (``class_="cited"``: one class)."""
        return [attrs for name, attrs in self.tags if name == tag and all(
            value in (attrs.get(key.rstrip("_")) or "").split() for key, value in attributes.items())]

    @property
    def all_text(self) -> str:
        return " ".join(self.text)


def make_batch(root: Path, cards: dict[str, Scorecard], names: dict[str, str]) -> Path:
    """A batch folder as `harness batch` leaves it: ``names`` maps a student to the corpus file graded for them."""
    (root / "scorecards").mkdir(parents=True, exist_ok=True)
    (root / "sources").mkdir(exist_ok=True)
    for student, stem in names.items():
        (root / "scorecards" / f"{student}.json").write_text(render_json(cards[stem]), encoding="utf-8")
        (root / "sources" / f"{student}.py").write_bytes(corpus_file(stem).read_bytes())
    return root


def notebook(path: Path, cells: list[tuple[str, str]]) -> Path:
    """A notebook of (kind, source) cells, kind "code" or "markdown", written with nbformat."""
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
                  for kind, source in cells]
    nbformat.write(book, str(path))
    return path
