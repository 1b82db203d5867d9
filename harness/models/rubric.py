"""The rubric file: the graded items, their points and visibility."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .problem import IDENTIFIER

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]


class RubricItem(BaseModel):
    """One graded item."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True, populate_by_name=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    """Item id; the engine's check of the same name grades it."""
    title: str
    """Short title shown to the candidate."""
    points: float = Field(ge=0)
    """Points awarded when the item passes (a partial pass earns a fraction)."""
    visibility: Visibility = "visible"
    """Who sees the item: always, never, after the due date, or after grades are published."""
    description: str = ""
    """What the item checks, in the candidate's terms."""
    hint: str = ""
    """Advice appended to the feedback when the item does not pass."""
    check: str | None = None
    """The check that grades the item (a problem pack's own check, else the engine's library); default: the
    item's id."""
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")
    """Parameters of the check (which calls, which property)."""


class Rubric(BaseModel):
    """A list of graded items."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)

    schema_version: Literal[1] = 1
    """Version of this file format."""
    id: str = Field(pattern=IDENTIFIER)
    """Rubric id, referenced by problems."""
    title: str
    """Human-readable title."""
    items: list[RubricItem] = Field(min_length=1)
    """The graded items, in the order they are reported."""

    @model_validator(mode="after")
    def _unique_ids(self) -> Rubric:
        ids = [item.id for item in self.items]
        duplicates = sorted({item for item in ids if ids.count(item) > 1})
        if duplicates:
            raise ValueError(f"items: duplicate ids {duplicates}")
        return self

    @property
    def max_score(self) -> float:
        """Sum of the items' points."""
        return sum(item.points for item in self.items)
