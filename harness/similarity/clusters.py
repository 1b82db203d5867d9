"""Groups of students joined by pairs above the threshold: who copied from whom, as connected sets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .compare import PairScore

STRONGEST_PAIRS = 5
"""Pairs named per cluster: enough to see who is at its centre."""


@dataclass(frozen=True)
class Cluster:
    """A group of students joined by flagged pairs, and the strongest of those pairs."""

    members: list[str]
    strongest: list[PairScore]


def clusters(pairs: Iterable[PairScore], threshold: float) -> list[list[str]]:
    """The connected groups of the pairs scoring at least ``threshold`` (union-find), largest first, members sorted."""
    parent: dict[str, str] = {}

    def root(name: str) -> str:
        parent.setdefault(name, name)
        while parent[name] != name:
            parent[name] = parent[parent[name]]  # path halving keeps the trees flat
            name = parent[name]
        return name

    for pair in pairs:
        if pair.score >= threshold:
            first, second = root(pair.a), root(pair.b)
            if first != second:
                parent[max(first, second)] = min(first, second)
    groups: dict[str, list[str]] = {}
    for name in parent:
        groups.setdefault(root(name), []).append(name)
    return sorted((sorted(members) for members in groups.values()), key=lambda g: (-len(g), g))


def cluster_details(pairs: Sequence[PairScore], threshold: float, strongest: int = STRONGEST_PAIRS) -> list[Cluster]:
    """The clusters of :func:`clusters`, each with its ``strongest`` flagged pairs, highest score first."""
    found = []
    for members in clusters(pairs, threshold):
        inside = set(members)
        links = sorted((pair for pair in pairs if pair.score >= threshold and pair.a in inside and pair.b in inside),
                       key=lambda pair: (-pair.score, pair.a, pair.b))
        found.append(Cluster(members, links[:strongest]))
    return found
