"""Screenshots of the HTML reports, to look at: one submission's page, the class page, and a student's page.

Usage: python3 scripts/html_screenshots.py OUTPUT_DIR [--width 1280] [--height 2400]

It grades a few corpus files with the in-process fake runner (a few seconds each), lays them out as `harness batch`
does (OUTPUT_DIR/batch/scorecards/<student>.json and sources/<student>.py), writes the single report, the class
report and its student pages, and captures each with headless Chromium (Debian: apt-get install chromium):
single.png, single-print.pdf, batch.png and student.png in OUTPUT_DIR. Exit code 0 when every capture was written,
1 when Chromium is missing or a capture failed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import grade
from harness._files import write_atomically
from harness.reporters import render_json
from harness.reporters.html import render_html
from harness.reporters.html_batch import write_batch_html

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "submissions" / "mhsa"
SINGLE = "mistake_builtin_mha"
"""A mistake whose feedback cites a line, so that the page shows a highlighted line and a citation link."""
CLASS = ["correct_bmm_style", "correct_per_head_einsum", "correct_slow_loops", "mistake_no_scale",
         "mistake_builtin_mha", "mistake_softmax_over_queries", "double_no_scale_no_out_proj", "broken_syntax_error"]
"""Eight files: correct, slow, mistaken (one and two mistakes) and broken, so that every chart has something."""


def browser() -> str | None:
    """The Chromium binary on the PATH, if any."""
    return next((found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None)


def capture(binary: str, page: Path, target: Path, width: int, height: int, *, pdf: bool = False) -> bool:
    """Screenshot (or print to PDF) ``page`` with headless Chromium; True when the file was written."""
    with tempfile.TemporaryDirectory() as profile:
        output = f"--print-to-pdf={target}" if pdf else f"--screenshot={target}"
        command = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", f"--user-data-dir={profile}", "--no-pdf-header-footer",
                   f"--window-size={width},{height}", output, page.resolve().as_uri()]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if not target.is_file():
        print(f"{target.name}: Chromium wrote nothing: {done.stderr[-500:]}", file=sys.stderr)
        return False
    return True


def build(out: Path) -> dict[str, Path]:
    """Grade the sample files and write the pages; returns the pages to capture by name."""
    batch = out / "batch"
    for stem in CLASS:
        card = grade(CORPUS / f"{stem}.py", "mhsa", "fake")
        write_atomically(batch / "scorecards" / f"{stem}.json", render_json(card))
        write_atomically(batch / "sources" / f"{stem}.py", (CORPUS / f"{stem}.py").read_bytes())
        print(f"graded {stem}: {card.score:g} / {card.max_score:g} ({card.status})", file=sys.stderr)
    single = out / "single.html"
    write_atomically(single, render_html(grade(CORPUS / f"{SINGLE}.py", "mhsa", "fake")))
    report = out / "report.html"
    write_batch_html(batch, report)
    return {"single": single, "batch": report, "student": out / "report_students" / "mistake_no_scale.html"}


def main(argv: list[str] | None = None) -> int:
    """Build the pages, capture them, print the files written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output_dir", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2400)
    args = parser.parse_args(argv)
    binary = browser()
    if binary is None:
        print("no chromium on the PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 1
    args.output_dir.mkdir(parents=True, exist_ok=True)
    pages = build(args.output_dir)
    written = [capture(binary, page, args.output_dir / f"{name}.png", args.width, args.height)
               for name, page in pages.items()]
    written.append(capture(binary, pages["single"], args.output_dir / "single-print.pdf", args.width, args.height,
                           pdf=True))
    for name in [*pages, "single-print"]:
        suffix = ".pdf" if name.endswith("print") else ".png"
        print(args.output_dir / f"{name}{suffix}")
    return 0 if all(written) else 1


if __name__ == "__main__":
    sys.exit(main())
