"""Fingerprints of a token stream: hashes of its k-grams, thinned by winnowing.

Winnowing is the method behind MOSS (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003).

Every run of ``k`` consecutive tokens is hashed; of each window of ``w`` consecutive k-gram hashes the smallest is
kept. Two files that share a run of at least ``w + k - 1`` tokens are then guaranteed to share a fingerprint, and
no match shorter than ``k`` tokens counts at all. Ties are broken by robust winnowing: the window keeps the hash it
already chose while that one is still in the window and still the smallest, and otherwise picks the rightmost
smallest, so a run of equal hashes (repeated code) gives one fingerprint rather than one per window.

The defaults come from the planted-copy corpus (``benchmarks/similarity_corpus.py``, 18 independent solutions and
its first 21 disguised copies). With the threshold at 0.5, the highest independent pair and the lowest direct copy
scored:
k = 8: 0.45 / 0.70; k = 10: 0.36 / 0.62; k = 12: 0.31 / 0.57; k = 15: 0.27 / 0.47; k = 20: 0.25 / 0.37 (w = 4 or 5).
``k = 10`` (a little over one line of normalised code: ``q = self.q_proj(x)`` is 9 tokens) leaves the widest
margin on both sides of 0.5: long enough that independent solutions do not share idioms like
``self.x = nn.Linear(a, b)`` by accident, short enough that a copy which reorders, inlines or interleaves
statements still shares most k-grams. ``w = 4`` keeps about one k-gram in 2.5 and guarantees that any match of
``w + k - 1 = 13`` tokens (about a line and a half) is seen; at k = 12, w = 6 scored as w = 4 with fewer
fingerprints, but misses matches under two lines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from .tokens import Token

DEFAULT_K = 10
"""Tokens per k-gram."""
DEFAULT_W = 4
"""K-grams per winnowing window."""
_SEPARATOR = "\x1f"  # a character no normalised token contains, so ("ab", "c") and ("a", "bc") hash apart


@dataclass(frozen=True)
class Fingerprint:
    """One kept k-gram: its hash, where it starts in the token stream, and the source lines it spans."""

    hash: int
    position: int
    """The index of the k-gram's first token."""
    first_line: int
    last_line: int


def kgram_hash(texts: Sequence[str]) -> int:
    """A stable 64-bit hash of a k-gram's token texts (blake2b, the same in every process, unlike ``hash()``)."""
    digest = hashlib.blake2b(_SEPARATOR.join(texts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def kgram_hashes(tokens: Sequence[Token], k: int = DEFAULT_K) -> list[int]:
    """The hash of every k-gram of ``tokens``, in order (none when there are fewer than ``k`` tokens)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    texts = [token.text for token in tokens]
    return [kgram_hash(texts[start:start + k]) for start in range(len(texts) - k + 1)]


def winnow(hashes: Sequence[int], w: int = DEFAULT_W) -> list[int]:
    """The positions robust winnowing keeps from ``hashes``, in increasing order.

    Fewer hashes than ``w`` form one window, so a short file still has a fingerprint.
    """
    if w < 1:
        raise ValueError(f"w must be at least 1, not {w}")
    if not hashes:
        return []
    chosen: list[int] = []
    current = -1
    for end in range(min(w, len(hashes)) - 1, len(hashes)):
        start = end - min(w, len(hashes)) + 1
        smallest = min(hashes[start:end + 1])
        if current >= start and hashes[current] == smallest:
            continue  # robust winnowing: keep the earlier choice while it is still a smallest hash in the window
        current = max(position for position in range(start, end + 1) if hashes[position] == smallest)
        chosen.append(current)
    return chosen


def fingerprints(tokens: Sequence[Token], k: int = DEFAULT_K, w: int = DEFAULT_W) -> list[Fingerprint]:
    """The winnowed fingerprints of ``tokens``, each with the source lines of its k-gram."""
    hashes = kgram_hashes(tokens, k)
    return [Fingerprint(hashes[position], position, tokens[position].line, tokens[position + k - 1].line)
            for position in winnow(hashes, w)]


def all_kgram_hashes(tokens: Sequence[Token], k: int = DEFAULT_K) -> set[int]:
    """Every k-gram hash of ``tokens``, unwinnowed: what starter code removes from a submission.

    Winnowing picks a file's fingerprints by their neighbours, so a submission can keep a k-gram of the starter
    that the starter's own winnowing passed over; removing all of the starter's k-grams catches those too.
    """
    return set(kgram_hashes(tokens, k))
