"""Pairwise similarity of a class's submissions from their shared fingerprints.

Before any pair is compared, two kinds of fingerprint are taken out of every file: every k-gram of the starter
code (the instructor's handout, which every student legitimately has), and every fingerprint that more than
``common_share`` of the class has (boilerplate and the one obvious way to write a line; MOSS ignores such passages
too). The pairs are then counted from an inverted index, fingerprint -> files, so the work grows with the number
of files that really share something, not with n².
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .fingerprints import DEFAULT_K, DEFAULT_W, Fingerprint, all_kgram_hashes, fingerprints
from .tokens import Token

DEFAULT_COMMON_SHARE = 0.5
"""A fingerprint found in more than this share of the class is boilerplate and ignored."""
DEFAULT_MIN_COMMON_FILES = 5
"""Below this many files holding a fingerprint it is never boilerplate: in a class of four, a passage three share
is a copy ring to show, not an idiom to hide."""


@dataclass(frozen=True)
class Settings:
    """How files are fingerprinted and what is ignored."""

    k: int = DEFAULT_K
    w: int = DEFAULT_W
    common_share: float = DEFAULT_COMMON_SHARE
    min_common_files: int = DEFAULT_MIN_COMMON_FILES


@dataclass
class Submission:
    """One student's fingerprints, with the starter's and the class's common ones removed."""

    name: str
    fingerprints: list[Fingerprint]
    hashes: frozenset[int]
    removed_as_starter: int = 0
    removed_as_common: int = 0


@dataclass(frozen=True)
class PairScore:
    """How much of each file of a pair the other one holds."""

    a: str
    b: str
    shared: int
    """Distinct fingerprints the two files have in common."""
    share_a: float
    """Share of ``a``'s fingerprints found in ``b``."""
    share_b: float
    """Share of ``b``'s fingerprints found in ``a``."""

    @property
    def score(self) -> float:
        """The pair's symmetric score: the larger share, so padding a copy with dead code does not hide it."""
        return max(self.share_a, self.share_b)


@dataclass(frozen=True)
class Region:
    """A run of matched fingerprints: the same code at ``lines_a`` of one file and ``lines_b`` of the other."""

    lines_a: tuple[int, int]
    lines_b: tuple[int, int]
    fingerprints: int


@dataclass
class ClassIndex:
    """A class's submissions and the inverted index of their fingerprints."""

    settings: Settings
    submissions: dict[str, Submission]
    postings: dict[int, list[str]] = field(default_factory=dict)
    """Fingerprint hash -> the files holding it, in name order; the common fingerprints are not in it."""
    common: frozenset[int] = frozenset()


def build_index(named_tokens: Mapping[str, Sequence[Token]], starter: Iterable[Sequence[Token]] = (),
                settings: Settings | None = None) -> ClassIndex:
    """Fingerprint every file, take out the starter's and the common fingerprints, and index the rest."""
    settings = settings or Settings()
    starter_hashes: set[int] = set()
    for tokens in starter:
        starter_hashes |= all_kgram_hashes(tokens, settings.k)
    raw = {name: [print_ for print_ in fingerprints(tokens, settings.k, settings.w)]
           for name, tokens in sorted(named_tokens.items())}
    holders: dict[int, list[str]] = defaultdict(list)
    for name, prints in raw.items():
        for value in {print_.hash for print_ in prints} - starter_hashes:
            holders[value].append(name)
    common = frozenset(value for value, names in holders.items() if _is_common(len(names), len(raw), settings))
    submissions = {name: _submission(name, prints, starter_hashes, common) for name, prints in raw.items()}
    postings = {value: names for value, names in holders.items() if value not in common}
    return ClassIndex(settings, submissions, postings, common)


def _is_common(holders: int, files: int, settings: Settings) -> bool:
    return holders >= settings.min_common_files and holders > settings.common_share * files


def _submission(name: str, prints: list[Fingerprint], starter: set[int], common: frozenset[int]) -> Submission:
    kept = [print_ for print_ in prints if print_.hash not in starter and print_.hash not in common]
    return Submission(name, kept, frozenset(print_.hash for print_ in kept),
                      removed_as_starter=sum(print_.hash in starter for print_ in prints),
                      removed_as_common=sum(print_.hash in common for print_ in prints))


def pair_scores(index: ClassIndex) -> list[PairScore]:
    """Every pair that shares at least one fingerprint, highest score first (ties by name, so the order is stable).

    The counts come from the postings: a fingerprint held by m files adds one to each of its m(m-1)/2 pairs, and
    a fingerprint held by one file costs nothing.
    """
    shared: Counter[tuple[str, str]] = Counter()
    for names in index.postings.values():
        if len(names) > 1:
            shared.update(itertools.combinations(names, 2))
    scores = [_score(index, a, b, count) for (a, b), count in shared.items()]
    scores.sort(key=lambda pair: (-pair.score, -pair.shared, pair.a, pair.b))
    return scores


def _score(index: ClassIndex, a: str, b: str, count: int) -> PairScore:
    size_a = len(index.submissions[a].hashes)
    size_b = len(index.submissions[b].hashes)
    return PairScore(a, b, count, count / size_a if size_a else 0.0, count / size_b if size_b else 0.0)


def matched_regions(index: ClassIndex, a: str, b: str) -> list[Region]:
    """The code the two files share, as runs of matched fingerprints, in ``a``'s order.

    Consecutive matches (in ``a``) join one region while they are also near each other, in order, in ``b``:
    winnowing keeps at least one k-gram in every ``w``, so a gap of up to ``w + k`` tokens is still one run.
    """
    first, second = index.submissions[a], index.submissions[b]
    occurrences: dict[int, list[Fingerprint]] = defaultdict(list)
    for print_ in second.fingerprints:
        occurrences[print_.hash].append(print_)
    seen: Counter[int] = Counter()
    matches: list[tuple[Fingerprint, Fingerprint]] = []
    for print_ in first.fingerprints:
        if print_.hash in second.hashes:
            # The i-th repeat of a passage in one file pairs with the i-th in the other (the last, when fewer).
            candidates = occurrences[print_.hash]
            matches.append((print_, candidates[min(seen[print_.hash], len(candidates) - 1)]))
            seen[print_.hash] += 1
    return _runs(matches, index.settings.k + index.settings.w)


def _runs(matches: list[tuple[Fingerprint, Fingerprint]], gap: int) -> list[Region]:
    regions: list[list[tuple[Fingerprint, Fingerprint]]] = []
    for match in matches:
        if regions:
            last_a, last_b = regions[-1][-1]
            if match[0].position - last_a.position <= gap and -gap <= match[1].position - last_b.position <= gap:
                regions[-1].append(match)
                continue
        regions.append([match])
    return [Region((min(m[0].first_line for m in run), max(m[0].last_line for m in run)),
                   (min(m[1].first_line for m in run), max(m[1].last_line for m in run)), len(run))
            for run in regions]


def merged_ranges(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Line spans merged where they overlap or touch, in order."""
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged
