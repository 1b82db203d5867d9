"""The HTML reports in a real browser (Debian's headless Chromium): they render, log no error, sort, and read well.

Skipped with the reason where no Chromium is installed, unless HARNESS_REQUIRE_BROWSER is set (as .ci/run sets
it), which makes a missing browser a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from harness import grade
from harness.reporters.html import render_html
from harness.reporters.html_batch import write_batch_html
from tests.reporters.support import make_batch
from tests.support import corpus_file

pytestmark = pytest.mark.slow


def _browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("HARNESS_REQUIRE_BROWSER"):
        pytest.fail("the browser tests must run here, but no chromium is installed (apt-get install chromium)")
    pytest.skip("no Chromium installed (Debian: apt-get install chromium)")


def run_browser(tmp_path: Path, url: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [_browser(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
               *arguments, url]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)


def console_errors(stderr: str) -> list[str]:
    """The page's console messages of level error, and uncaught exceptions, from Chromium's log."""
    return [line for line in stderr.splitlines()
            if ":CONSOLE" in line and ("Uncaught" in line or "rror" in line.split("]", 1)[-1])]


def png_rows(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the filtered scanlines of an 8-bit PNG (enough to tell a blank image from a page).

    A page of one colour filters to a handful of distinct scanlines (every row the same); text and charts give
    hundreds, so the rows are compared as they are, without undoing the filters.
    """
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, idat, width, height, channels = 8, b"", 0, 0, 0
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8, f"bit depth {depth}"
            channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    pixels = zlib.decompress(idat)
    stride = 1 + width * channels
    assert len(pixels) == stride * height, "the image data does not fill the image"
    return width, height, [pixels[row * stride:(row + 1) * stride] for row in range(height)]


def test_the_blank_check_sees_a_blank_image(tmp_path):
    blank = tmp_path / "blank.png"
    rows = (b"\x00" + b"\xff\xff\xff" * 64) * 48
    chunk = zlib.compress(rows)
    blank.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0))
                      + _chunk(b"IDAT", chunk) + _chunk(b"IEND", b""))
    assert len(set(png_rows(blank)[2])) == 1


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    stems = ["correct_bmm_style", "mistake_builtin_mha", "mistake_no_scale", "broken_syntax_error",
             "mistake_softmax_over_queries"]
    cards = {stem: grade(corpus_file(stem), "mhsa", "fake") for stem in stems}
    single = root / "single.html"
    single.write_text(render_html(cards["mistake_builtin_mha"]))
    grades = make_batch(root / "grades", cards, {f"student{i}": stem for i, stem in enumerate(stems)})
    batch = root / "site" / "report.html"
    write_batch_html(grades, batch)
    return {"single": single, "batch": batch}


def test_the_log_capture_sees_a_console_error_on_a_broken_page(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html lang='en'><body><script>noSuchFunction();</script></body></html>")
    errors = console_errors(run_browser(tmp_path, broken.as_uri(), "--dump-dom").stderr)
    assert any("noSuchFunction" in line for line in errors)  # else a clean report proves nothing


@pytest.mark.parametrize("name", ["single", "batch"])
def test_each_report_renders_without_console_errors_and_is_not_blank(pages, tmp_path, name):
    shot = tmp_path / f"{name}.png"
    done = run_browser(tmp_path, pages[name].as_uri(), f"--screenshot={shot}", "--window-size=1280,2000")
    assert shot.is_file(), done.stderr[-2000:]
    assert console_errors(done.stderr) == []
    width, height, rows = png_rows(shot)
    assert (width, height) == (1280, 2000)
    assert len(set(rows)) > 100, "the screenshot is (nearly) one colour"


def test_the_student_table_sorts_in_the_browser(pages, tmp_path):
    def scores(fragment: str) -> list[float]:
        dom = run_browser(tmp_path, pages["batch"].as_uri() + fragment, "--dump-dom").stdout
        return [float(value) for value in re.findall(r'<tr data-student="[^"]*" data-score="([0-9.]+)"', dom)]

    descending = scores("#sort=score-desc")
    assert len(descending) == 5 and descending == sorted(descending, reverse=True)
    assert scores("#sort=score-asc") == sorted(descending)
    dom = run_browser(tmp_path, pages["batch"].as_uri() + "#sort=student-desc", "--dump-dom").stdout
    students = re.findall(r'<tr data-student="([^"]*)"', dom)
    assert students == sorted(students, reverse=True)
    assert re.search(r'aria-sort="descending"><button class="sort" type="button" data-key="student"', dom)


def test_a_submission_prints_as_one_page(pages, tmp_path):
    pdf = tmp_path / "single.pdf"
    done = run_browser(tmp_path, pages["single"].as_uri(), "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert pdf.is_file(), done.stderr[-2000:]
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) == 1
