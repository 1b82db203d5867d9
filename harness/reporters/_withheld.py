"""What a report for the candidate leaves out: items whose rubric visibility is not ``visible``.

The JUnit and markdown reports are read in the candidate's own CI job, so by default they show a withheld item only
as its id, title and points available: no verdict, no points awarded and no feedback, and the score they show counts
the shown items only (a total including withheld items would give their verdicts away by subtraction, the reason
Gradescope hides the total whenever a test is hidden). A named mistake is left out when every item it fails is
withheld. The panel's own reports pass ``reveal_hidden=True``.

This keeps hidden results out of published reports (artifacts, check runs, job summaries that others may see); it
is no secret from a candidate who controls the machine grading runs on, who can read the JSON scorecard itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Scorecard
from ..models.rubric import Visibility
from ..models.scorecard import Diagnosis, ItemResult

_NOTICES: dict[Visibility, str] = {
    "hidden": "Hidden: this item's result is not shown to candidates.",
    "after_due_date": "Hidden until the due date has passed.",
    "after_published": "Hidden until grades are published.",
    "visible": "",
}


def notice(item: ItemResult) -> str:
    """What a report says in place of a withheld item's verdict and feedback."""
    return _NOTICES[item.visibility] or _NOTICES["hidden"]


@dataclass(frozen=True)
class ShownScore:
    """The score a report may show, and what it leaves out."""

    score: float
    """Points awarded over the shown items only (the full score when nothing is withheld)."""
    max_score: float
    """Points available over every item, withheld ones included."""
    withheld_items: int
    """How many items are withheld."""
    withheld_points: float
    """Points available over the withheld items."""


class CandidateView:
    """Which parts of one scorecard a report shows; everything when ``reveal_hidden``."""

    def __init__(self, scorecard: Scorecard, reveal_hidden: bool = False) -> None:
        self.scorecard = scorecard
        self.reveal_hidden = reveal_hidden

    def withheld(self, item: ItemResult) -> bool:
        """True when the report must not show this item's verdict, points awarded or feedback."""
        return not self.reveal_hidden and item.visibility != "visible"

    def score(self) -> ShownScore:
        """The score to show: the full one, or the shown items' share when some are withheld."""
        card = self.scorecard
        hidden = [item for item in card.items if self.withheld(item)]
        if not hidden:
            return ShownScore(card.score, card.max_score, 0, 0.0)
        shown = sum(item.points for item in card.items if not self.withheld(item))
        return ShownScore(shown, card.max_score, len(hidden), sum(item.max_points for item in hidden))

    def diagnoses(self) -> list[Diagnosis]:
        """The named mistakes to show: those not tied only to withheld items."""
        withheld_ids = {item.id for item in self.scorecard.items if self.withheld(item)}
        return [d for d in self.scorecard.diagnoses if not d.items or not set(d.items) <= withheld_ids]
