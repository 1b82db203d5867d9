"""Groups of students joined by pairs above the threshold: who copied from whom, as connected sets."""

from __future__ import annotations

from collections.abc import Iterable

from .compare import PairScore


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
