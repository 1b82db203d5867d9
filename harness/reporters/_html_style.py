"""The HTML reports' colours and stylesheet: one palette, from which the CSS is written and contrast is checked.

Every text colour is declared with the background it is read on; the test of the reports computes each pair's WCAG
contrast from this table, so a colour cannot change without the check seeing it.
"""

from __future__ import annotations

PALETTE: dict[str, tuple[str, str]] = {
    "page": ("#1b1f24", "#ffffff"),
    "muted": ("#4a5560", "#ffffff"),
    "panel": ("#1b1f24", "#f4f6f8"),
    "link": ("#0b57d0", "#ffffff"),
    "passed": ("#0b5d1e", "#e3f4e8"),
    "failed": ("#8a1414", "#fde7e7"),
    "partial": ("#6b4a00", "#fff1cc"),
    "error": ("#5b2a86", "#efe6f7"),
    "skipped": ("#3d4650", "#e9ecef"),
    "hidden": ("#3d4650", "#e9ecef"),
    "cited": ("#1b1f24", "#fff0a8"),
    "code": ("#1b1f24", "#f6f8fa"),
    "lineno": ("#57606a", "#f6f8fa"),
    "header": ("#ffffff", "#24476b"),
}
"""Name -> (text colour, background colour)."""
BAR = "#3d6fa5"
"""The bars' fill; candidate and reference bars differ by pattern as well as colour."""
REFERENCE_BAR = "#9aa7b4"


def stylesheet() -> str:
    """The reports' CSS (trusted text, the package's own)."""
    colours = "\n".join(f"  --{name}-fg: {fg};\n  --{name}-bg: {bg};" for name, (fg, bg) in PALETTE.items())
    badges = "\n".join(f".badge.{name} {{ color: var(--{name}-fg); background: var(--{name}-bg); }}"
                       for name in ("passed", "failed", "partial", "error", "skipped", "hidden"))
    return f""":root {{
{colours}
  --bar: {BAR};
  --reference-bar: {REFERENCE_BAR};
}}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--page-fg); background: var(--page-bg); }}
header.top {{ color: var(--header-fg); background: var(--header-bg); padding: 18px 28px; }}
header.top h1 {{ margin: 0 0 4px; font-size: 24px; }}
header.top p {{ margin: 0; }}
header.top a {{ color: var(--header-fg); background: var(--header-bg); }}
main {{ max-width: 1100px; margin: 0 auto; padding: 8px 28px 40px; }}
h2 {{ font-size: 19px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }}
h3 {{ font-size: 16px; margin: 18px 0 6px; }}
a {{ color: var(--link-fg); }}
.muted {{ color: var(--muted-fg); }}
.panel {{ color: var(--panel-fg); background: var(--panel-bg); border-radius: 6px; padding: 12px 16px; }}
.score {{ display: flex; align-items: center; gap: 24px; flex-wrap: wrap; }}
.score .big {{ font-size: 40px; font-weight: 700; }}
.badge {{ display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; font-size: 13px;
  white-space: nowrap; }}
{badges}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid #d0d7de; }}
td.num, th.num {{ text-align: right; white-space: nowrap; }}
.feedback {{ overflow-wrap: anywhere; }}
table.evidence td {{ font-size: 13px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }}
.source {{ color: var(--code-fg); background: var(--code-bg); border: 1px solid #d0d7de; border-radius: 6px;
  overflow-x: auto; }}
.source table {{ font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }}
.source td {{ border: 0; padding: 0 8px; white-space: pre; }}
.source td.ln {{ color: var(--lineno-fg); text-align: right; user-select: none; width: 1%; }}
.source tr.cited td {{ color: var(--cited-fg); background: var(--cited-bg); }}
.source tr.cited td.ln {{ color: var(--cited-fg); font-weight: 700; }}
svg text {{ fill: var(--page-fg); font-size: 13px; }}
svg .bar {{ fill: var(--bar); }}
svg .reference {{ fill: var(--reference-bar); }}
svg .passed {{ fill: #2e7d4f; }}
svg .failed {{ fill: #b3261e; }}
svg .axis {{ stroke: #57606a; stroke-width: 1; }}
svg .limit {{ stroke: var(--failed-fg); stroke-width: 2; stroke-dasharray: 5 3; }}
svg text.strong {{ font-weight: 700; }}
svg text.small {{ font-size: 11px; }}
table.measured {{ width: auto; min-width: 60%; margin-top: 8px; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 18px; }}
figure {{ margin: 0; }}
figure.comparison {{ max-width: 760px; }}
figcaption {{ font-weight: 600; margin-bottom: 4px; }}
button.sort {{ font: inherit; font-weight: 700; border: 0; background: none; color: var(--link-fg); cursor: pointer;
  padding: 0; }}
button.sort:focus-visible {{ outline: 2px solid var(--link-fg); outline-offset: 2px; }}
details pre {{ white-space: pre-wrap; overflow-wrap: anywhere; }}
footer {{ margin-top: 32px; font-size: 13px; }}
@page {{ margin: 12mm; }}
@media print {{
  header.top {{ color: #000; background: #fff; border-bottom: 2px solid #000; padding: 0 0 6px; }}
  header.top h1 {{ font-size: 18px; }}
  main {{ max-width: none; padding: 0; }}
  h2 {{ font-size: 13px; margin: 10px 0 4px; }}
  body {{ font-size: 9.5px; line-height: 1.3; }}
  th, td {{ padding: 2px 4px; }}
  .score .big {{ font-size: 22px; }}
  .panel {{ padding: 4px 8px; }}
  .no-print, table.measured, .source-section, .output-section, details, table.evidence, .item-id,
  .muted {{ display: none; }}
  tr.status-passed td.feedback {{ font-size: 0; }}
  tr.status-passed td.feedback::after {{ content: "✓"; font-size: 9.5px; }}
  figure svg {{ max-height: 90px; }}
  tr, .diagnosis, figure {{ break-inside: avoid; }}
}}
"""
