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


def histogram(counts: list[int], labels: list[str], title: str, height: float = 180.0, tone: str = "bar") -> Chart:
    """Vertical bars, one per bin, scaled to the largest; labels under them, counts above."""
    top, bottom = 18.0, 34.0
    slot = WIDTH / max(1, len(counts))
    largest = max(counts, default=0) or 1
    usable = height - top - bottom
    bars = []
    for index, (count, label) in enumerate(zip(counts, labels, strict=True)):
        size = usable * count / largest
        bars.append(Bar(index * slot + slot * 0.1, top + usable - size, slot * 0.8, size, label, str(count), tone))
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


@dataclass(frozen=True)
class Measured:
    """One quantity measured for the candidate and for the reference, with the most the problem allows."""

    name: str
    """What was measured ("Time per forward")."""
    unit: str
    candidate: float
    reference: float
    allowed: float | None = None
    """The most the problem allows, in the same unit; None when it sets no limit."""

    @property
    def ratio(self) -> float | None:
        """The candidate's figure over the reference's (None when the reference's is 0)."""
        return self.candidate / self.reference if self.reference > 0 else None


@dataclass(frozen=True)
class PairedBars:
    """The drawing of one :class:`Measured`: the candidate's bar over the reference's, the limit as a dashed line."""

    name: str
    y: float
    """Top of the candidate's bar; the reference's is right below it."""
    candidate_width: float
    reference_width: float
    allowed_x: float | None
    """Where the limit's line is drawn (None when the problem sets no limit)."""
    candidate_text: str
    reference_text: str
    allowed_text: str


@dataclass(frozen=True)
class Comparison:
    """Candidate against reference, one pair of bars per quantity, each quantity on its own scale."""

    title: str
    width: float
    height: float
    origin: float
    """The x where every bar starts; the quantity's name is written above its pair."""
    bar_height: float
    pairs: list[PairedBars]


def comparison(measured: list[Measured], title: str) -> Comparison:
    """Paired bars per quantity, scaled so that the largest of candidate, reference and limit fills the room."""
    origin, bar_height, group = 96.0, 18.0, 70.0
    room = WIDTH - origin - 150.0  # the value text after a bar ("1,234 ms (1.05x)") needs about 150 units
    pairs = []
    for index, m in enumerate(measured):
        top = max(m.candidate, m.reference, m.allowed or 0.0) or 1.0
        scale = room / top
        ratio = f" ({m.ratio:.2f}x)" if m.ratio is not None else ""
        pairs.append(PairedBars(
            m.name, 22.0 + index * group, round(max(0.0, m.candidate) * scale, 1),
            round(max(0.0, m.reference) * scale, 1),
            round(origin + m.allowed * scale, 1) if m.allowed is not None else None,
            f"{m.candidate:,.1f} {m.unit}{ratio}", f"{m.reference:,.1f} {m.unit}",
            f"allowed {m.allowed:,.0f} {m.unit}" if m.allowed is not None else ""))
    return Comparison(title, WIDTH, 8.0 + group * max(1, len(measured)), origin, bar_height, pairs)
