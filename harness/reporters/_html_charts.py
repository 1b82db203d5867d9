"""The geometry of the HTML reports' charts: bars with their positions, sizes and labels, drawn by the templates.

Pure functions of numbers and labels; the SVG itself is written by ``templates/charts.html.j2``, whose autoescaping
covers every label (a student's name, a mistake's id).
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 640
"""Width of every chart's drawing area, in SVG user units (the SVG scales to its container)."""


@dataclass(frozen=True)
class Bar:
    """One bar: where it is, how big, and what it says."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value_text: str
    tone: str = "bar"


@dataclass(frozen=True)
class Chart:
    """Bars in a drawing area of ``width`` by ``height``, with a title read by screen readers."""

    title: str
    width: float
    height: float
    bars: list[Bar]
    axis_y: float = 0.0


def histogram(counts: list[int], labels: list[str], title: str, height: float = 180.0) -> Chart:
    """Vertical bars, one per bin, scaled to the largest; labels under them, counts above."""
    top, bottom = 18.0, 34.0
    slot = WIDTH / max(1, len(counts))
    largest = max(counts, default=0) or 1
    usable = height - top - bottom
    bars = []
    for index, (count, label) in enumerate(zip(counts, labels, strict=True)):
        size = usable * count / largest
        bars.append(Bar(index * slot + slot * 0.1, top + usable - size, slot * 0.8, size, label, str(count)))
    return Chart(title, WIDTH, height, bars, axis_y=top + usable)


def horizontal_bars(rows: list[tuple[str, float, str]], title: str, maximum: float | None = None,
                    tones: list[str] | None = None) -> Chart:
    """One horizontal bar per (label, value, value text), from a label column on the left, scaled to ``maximum``."""
    row_height, label_width = 26.0, 270.0
    largest = maximum if maximum is not None else max((value for _, value, _ in rows), default=0.0)
    largest = largest or 1.0
    span = WIDTH - label_width - 70.0
    bars = [Bar(label_width, 4.0 + index * row_height, max(1.0, span * max(0.0, value) / largest), row_height - 8.0,
                label, text, (tones[index] if tones else "bar"))
            for index, (label, value, text) in enumerate(rows)]
    return Chart(title, WIDTH, 8.0 + row_height * max(1, len(rows)), bars)


def ratio_bins(ratios: list[float], edges: tuple[float, ...] = (0.5, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0)) -> tuple[
        list[int], list[str]]:
    """Counts of ratios (candidate / reference) in bins bounded by ``edges``, with a label per bin."""
    labels = [f"< {edges[0]:g}x"] + [f"{low:g}-{high:g}x" for low, high in zip(edges, edges[1:], strict=False)] + \
        [f"> {edges[-1]:g}x"]
    counts = [0] * (len(edges) + 1)
    for ratio in ratios:
        counts[sum(1 for edge in edges if ratio >= edge)] += 1
    return counts, labels
