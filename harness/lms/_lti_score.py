"""The AGS score a scorecard becomes: points, a short comment for the student, and the progress values.

The comment is shown to the student in the gradebook, so it carries only what the harness itself wrote and the
student may see: the score, the status, and the titles (from the rubric) of the visible items not passed. Never
feedback (it quotes the student's code and output) and never a withheld item's title.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..models import Scorecard
from ..reporters._safe_text import printable

SCORE_MEDIA_TYPE = "application/vnd.ims.lis.v1.score+json"
COMMENT_LIMIT = 500  # a gradebook comment, not the feedback: Canvas shows it in one box beside the grade
_NOT_PASSED_MARKS = {"failed": "", "error": " (error)", "partial": " (partial)", "skipped": " (not checked)"}


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, the query string kept where it is (Moodle's line items carry ``?type_id=``)."""
    parts = urlsplit(lineitem)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/") + "/scores", parts.query, ""))


def _points(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def _one_line(text: str) -> str:
    return " ".join(printable(text).split())


def _listed(titles: list[str], room: int) -> str:
    """As many titles as fit in ``room`` characters, then how many more there are."""
    for count in range(len(titles), -1, -1):
        rest = len(titles) - count
        text = "; ".join(titles[:count])
        if rest:
            text = f"{text}; and {rest} more" if count else f"{rest} items"
        if len(text) + 1 <= room:
            return text + "."
    return ""


def score_comment(card: Scorecard, score_given: float, score_maximum: float) -> str:
    """``8/10 points (graded). Not passed: A; B (partial).``, at most COMMENT_LIMIT characters."""
    head = f"{_points(score_given)}/{_points(score_maximum)} points ({card.status})."
    titles = [_one_line(item.title) + _NOT_PASSED_MARKS[item.status] for item in card.items
              if item.visibility == "visible" and item.status != "passed"]
    if not titles:
        return head
    lead = head + " Not passed: "
    return lead + _listed(titles, COMMENT_LIMIT - len(lead))


@dataclass(frozen=True)
class ScoreBody:
    """One score to post for one student."""

    user_id: str
    score_given: float
    score_maximum: float
    comment: str

    def content(self) -> dict[str, Any]:
        """The AGS score, timestamp left out."""
        return {"userId": self.user_id, "scoreGiven": self.score_given, "scoreMaximum": self.score_maximum,
                "comment": self.comment, "activityProgress": "Completed", "gradingProgress": "FullyGraded"}

    def content_sha256(self) -> str:
        """The digest the journal compares: equal when the same score would be posted again."""
        return hashlib.sha256(json.dumps(self.content(), sort_keys=True).encode()).hexdigest()

    def json_bytes(self, timestamp: str) -> bytes:
        """The request body, with the timestamp of this publication."""
        return json.dumps({**self.content(), "timestamp": timestamp}).encode("utf-8")


def score_points(card: Scorecard, maximum: float | str) -> tuple[float, float]:
    """(scoreGiven, scoreMaximum): the scorecard's own, or rescaled to ``maximum``; ValueError when unusable."""
    if not card.max_score > 0:
        raise ValueError(f"the scorecard has {card.max_score:g} points available; nothing to score out of")
    if not 0 <= card.score <= card.max_score:
        raise ValueError(f"the scorecard's score {card.score:g} is outside 0..{card.max_score:g}")
    if isinstance(maximum, str):
        return card.score, card.max_score
    return round(card.score / card.max_score * maximum, 4), float(maximum)


def timestamp_now() -> str:
    """Now in ISO 8601 with milliseconds and the UTC offset (Canvas asks for subsecond precision)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
