"""Readings of a candidate's parameters as the reference's weights ("bindings"), most plausible first.

A binding says where each q/k/v/output weight and bias lives among the candidate's parameters (which tensor, which
third of a packed tensor, whether stored transposed, how per-head pieces are tiled), so the reference can run under
exactly the candidate's weights and autograd gives gradients with respect to the candidate's own tensors. Besides
the correct structures, some bindings reproduce structural mistakes (projections applied per head slice, one head
copied); those carry the mistake's id.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import torch

from .functional import Weights

ROLES = ("q", "k", "v", "o")
_ROLE_HINTS = {
    "q": {"q", "query", "queries", "wq", "qproj"},
    "k": {"k", "key", "keys", "wk", "kproj"},
    "v": {"v", "value", "values", "wv", "vproj"},
    "o": {"o", "out", "output", "wo", "oproj", "proj", "combine", "fc", "dense", "merge", "final"},
}
MAX_BINDINGS = 2000
MAX_OF_A_SHAPE = 12
"""Parameters of one shape class the readings consider (in declaration order): permutations of 12 are 11,880."""
Params = Mapping[str, torch.Tensor]


class TensorSource(Protocol):
    """Something that reads one weight or bias out of the candidate's parameters."""

    def take(self, params: Params) -> torch.Tensor | None:
        """The weight (Linear convention) or bias, differentiable with respect to ``params``; None: identity."""

    def describe(self) -> str:
        """Human-readable origin."""

    def names(self) -> set[str]:
        """Candidate parameters read."""

    def resized(self, heads: int) -> TensorSource:
        """The same reading for a module with another number of heads."""


@dataclass(frozen=True)
class Source:
    """One weight (Linear convention, ``(out, in)``) or bias taken from one of the candidate's tensors."""

    name: str
    transpose: bool = False
    chunk: int | None = None
    """Which part (q, k, v; or k, v) of a packed tensor, along its output axis; sizes follow the configuration."""
    parts: int = 3
    """How many projections the packed tensor holds: 3 for q, k, v; 2 for a fused k, v beside a separate q."""
    embed_axis: int | None = None
    """For per-head tensors such as (H, E, head_dim): the axis of size E; the other two, (H, head_dim) in that
    order, are flattened into one. A per-head bias (H, head_dim) is flattened with ``embed_axis`` -1."""
    interleaved_heads: int | None = None
    """For a packed tensor laid out head by head, (H, 3, head_dim) along its output axis: the number of heads."""

    def take(self, params: Params) -> torch.Tensor:
        """The weight or bias, in Linear convention, as a differentiable view of the candidate's tensor."""
        value = params[self.name]
        if self.embed_axis == -1:
            value = value.reshape(-1)
        elif self.embed_axis is not None:
            moved = value.movedim(self.embed_axis, 0)
            value = moved.reshape(moved.shape[0], -1)
        if self.transpose:
            value = value.transpose(0, 1)
        if self.chunk is not None and self.interleaved_heads:
            heads, rest = self.interleaved_heads, tuple(value.shape[1:])
            per_head = value.reshape(heads, 3, value.shape[0] // (3 * heads), *rest)
            value = per_head[:, self.chunk].reshape(-1, *rest)
        elif self.chunk is not None:
            value = value.chunk(self.parts, dim=0)[self.chunk]
        return value

    def describe(self) -> str:
        """E.g. ``in_proj_weight (part 1 of 3)``."""
        text = self.name
        if self.chunk is not None:
            layout = ", interleaved per head" if self.interleaved_heads else ""
            text += f" (part {self.chunk + 1} of {self.parts}{layout})"
        if self.embed_axis is not None and self.embed_axis >= 0:
            text += " (per head)"
        return text + (" (used as x @ W)" if self.transpose else "")

    def names(self) -> set[str]:
        """The one parameter read."""
        return {self.name}

    def resized(self, heads: int) -> Source:
        """The same reading for a module with another number of heads."""
        return dataclasses.replace(self, interleaved_heads=heads) if self.interleaved_heads else self


@dataclass(frozen=True)
class Tiled:
    """A full (E, E) weight or (E,) bias assembled from per-head pieces: block-diagonal, or stacked copies."""

    parts: tuple[Source, ...]
    kind: Literal["block_diagonal", "stacked"]

    def take(self, params: Params) -> torch.Tensor:
        """Block-diagonal (projection per head slice) or stacked rows (one head copied); vectors concatenate."""
        pieces = [part.take(params) for part in self.parts]  # Sources: never None
        if pieces[0].dim() == 1 or self.kind == "stacked":
            return torch.cat(pieces, dim=0)
        return torch.block_diag(*pieces)

    def describe(self) -> str:
        """E.g. ``q.weight x4 (block diagonal)``."""
        distinct = list(dict.fromkeys(part.describe() for part in self.parts))
        shown = distinct[0] + f" x{len(self.parts)}" if len(distinct) == 1 else ", ".join(distinct)
        return f"{shown} ({self.kind.replace('_', ' ')})"

    def names(self) -> set[str]:
        """Every parameter among the parts."""
        return {part.name for part in self.parts}

    def resized(self, heads: int) -> Tiled:
        """A piece shared by every head is tiled ``heads`` times; distinct pieces cannot be resized."""
        if len(set(self.parts)) == 1:
            return Tiled((self.parts[0],) * heads, self.kind)
        return self


@dataclass(frozen=True)
class Identity:
    """No weight at all: the identity map (an output projection skipped with one head, or values that are x)."""

    def take(self, params: Params) -> None:
        """Nothing: the reference reads a missing weight as the identity."""
        return None

    def describe(self) -> str:
        """How the scorecard names it."""
        return "identity (no weight)"

    def names(self) -> set[str]:
        """No parameter is read."""
        return set()

    def resized(self, heads: int) -> Identity:
        """The identity has no size."""
        return self


@dataclass(frozen=True)
class Binding:
    """Where the reference's q, k, v and output weights and biases live; no output weight means none was found."""

    weights: tuple[TensorSource, TensorSource, TensorSource, TensorSource | None]
    biases: tuple[TensorSource | None, TensorSource | None, TensorSource | None, TensorSource | None]
    structure_mistakes: tuple[str, ...] = ()

    @property
    def mistakes(self) -> tuple[str, ...]:
        """Structural mistakes this reading implies (ids of ``mistakes.MISTAKES``)."""
        return self.structure_mistakes + (("no_output_projection",) if self.weights[3] is None else ())

    def describe(self) -> dict[str, str]:
        """Role -> parameter, for the scorecard's details."""
        text = {}
        for role, weight, bias in zip(ROLES, self.weights, self.biases, strict=True):
            if weight is None:
                text[role] = "none"
            else:
                text[role] = weight.describe() + (f" + {bias.describe()}" if bias else "")
        return text

    def parameter_names(self) -> set[str]:
        """Candidate parameters this binding reads."""
        names: set[str] = set()
        for source in (*self.weights, *self.biases):
            if source is not None:
                names |= source.names()
        return names

    def resized(self, heads: int) -> Binding:
        """The same reading for a module with another number of heads (names must still exist)."""

        def resize(source: TensorSource | None) -> TensorSource | None:
            return source.resized(heads) if source is not None else None

        return Binding(weights=tuple(resize(w) for w in self.weights),  # type: ignore[arg-type]
                       biases=tuple(resize(b) for b in self.biases),  # type: ignore[arg-type]
                       structure_mistakes=self.structure_mistakes)

    def weights_from(self, params: Params) -> Weights:
        """The reference's weights under this reading."""

        def take(source: TensorSource | None) -> torch.Tensor | None:
            return source.take(params) if source is not None else None

        q, k, v, o = (take(source) for source in self.weights)
        assert q is not None and k is not None
        return Weights(q, k, v, o, *(take(source) for source in self.biases))


def tokens(name: str) -> list[str]:
    """Lower-case name parts, with weight/bias markers removed (``W_q`` -> ``q``, ``q_proj.weight`` -> ``q proj``)."""
    parts = [p for p in re.split(r"[._]|(?<=[a-z])(?=[A-Z])", name) if p]
    found = []
    for part in parts:
        lower = part.lower()
        if lower in {"weight", "weights", "bias", "biases", "w", "b", "param", "parameter"}:
            continue
        if len(lower) == 2 and lower[0] in "wb" and lower[1] in "qkvo":
            lower = lower[1]
        found.append(lower)
    return found


def _role_score(name: str, role: str) -> int:
    parts = tokens(name)
    return int(any(token in _ROLE_HINTS[role] for token in parts) or "".join(parts) in _ROLE_HINTS[role])


def _pair_bias(weight: str, biases: Sequence[str], used: set[str]) -> str | None:
    """The bias that belongs with ``weight`` by name, if exactly one does."""
    matches = [b for b in biases if b not in used and tokens(b) == tokens(weight)]
    return matches[0] if len(matches) == 1 else None


def _bias_options(weights: list[str], biases: list[str]) -> list[dict[str, str | None]]:
    """Ways to attach biases to weights (declaration order): by name, then position by position, then none."""
    used: set[str] = set()
    by_name: dict[str, str | None] = {}
    for weight in weights:
        match = _pair_bias(weight, biases, used)
        if match is not None:
            used.add(match)
        by_name[weight] = match
    options: list[dict[str, str | None]] = []
    if any(by_name.values()):
        options.append(by_name)
    if len(biases) == len(weights):
        options.append(dict(zip(weights, biases, strict=True)))
    options.append(dict.fromkeys(weights))
    return options


def _per_head_embed_axis(shape: tuple[int, ...], embed: int, heads: int, head_dim: int) -> int | None:
    """For a 3-D per-head tensor ((H, E, d), (E, H, d) or (H, d, E)), the axis of size E."""
    if len(shape) != 3:
        return None
    for axis in range(3):
        rest = tuple(size for index, size in enumerate(shape) if index != axis)
        if shape[axis] == embed and rest == (heads, head_dim):
            return axis
    return None


def _plausibility(assignment: Sequence[str], declared: list[str], roles: Sequence[str] = ROLES) -> tuple[int, int]:
    hints = sum(_role_score(name, role) for name, role in zip(assignment, roles, strict=False))
    displacement = sum(abs(declared.index(name) - i) for i, name in enumerate(assignment))
    return (-hints, displacement)


@dataclass
class _Shapes:
    """The candidate's parameters sorted by the shape classes the enumerations use."""

    params: Params
    embed: int
    heads: int

    def __post_init__(self) -> None:
        e, h = self.embed, self.heads
        d = e // h if h else 0
        self.head_dim = d
        order = list(self.params)
        shape = {name: tuple(self.params[name].shape) for name in order}
        self.order = order

        def first(names: Iterable[str]) -> list[str]:
            # The enumerations take permutations of each class: bounded classes keep the host's work bounded.
            return list(itertools.islice(names, MAX_OF_A_SHAPE))

        self.squares = first(n for n in order if shape[n] == (e, e))
        self.packed = first(n for n in order if shape[n] in {(3 * e, e), (e, 3 * e)})
        self.packed_kv = first(n for n in order if shape[n] in {(2 * e, e), (e, 2 * e)})
        self.packed_kv_vectors = first(n for n in order if shape[n] == (2 * e,))
        self.vectors = first(n for n in order if shape[n] == (e,))
        self.packed_vectors = first(n for n in order if shape[n] == (3 * e,))
        self.per_head = dict(itertools.islice(
            ((n, axis) for n in order if (axis := _per_head_embed_axis(shape[n], e, h, d)) is not None),
            MAX_OF_A_SHAPE))
        self.head_vectors = first(n for n in order if shape[n] == (h, d) and n not in self.per_head)
        # Per-head ModuleLists hold one small square per head and role: room for every head of four roles.
        self.small_squares = list(itertools.islice((n for n in order if shape[n] == (d, d) and d != e),
                                                   max(MAX_OF_A_SHAPE, 4 * h)))
        self.small_vectors = list(itertools.islice((n for n in order if shape[n] == (d,) and d != e),
                                                   max(MAX_OF_A_SHAPE, 4 * h)))
        self.head_rows = first(n for n in order if shape[n] in {(d, e), (e, d)} and d != e)


def _weight_choices(name: str, role: str, per_head: Mapping[str, int]) -> list[Source]:
    if name in per_head:  # flattened to (E, H*head_dim): q/k/v read it as x @ W, the output as W x
        return [Source(name, transpose=role != "o", embed_axis=per_head[name])]
    return [Source(name, False), Source(name, True)]


def _oriented(choices: list[list[Source]]) -> list[tuple[Source, ...]]:
    """Orientation combinations, uniform ones first (code usually stores all its weights the same way)."""
    return sorted(itertools.product(*choices),
                  key=lambda combo: (len({s.transpose for s in combo}) > 1, sum(s.transpose for s in combo)))


def _separate(shapes: _Shapes, with_output: bool) -> Iterator[Binding]:
    """Separate projections: (E, E) matrices either way round, or per-head 3-D tensors."""
    matrices = [n for n in shapes.order if n in shapes.squares or n in shapes.per_head]
    roles = ROLES if with_output else ROLES[:3]
    if len(matrices) < len(roles):
        return
    biases = shapes.vectors + shapes.head_vectors

    def bias_source(name: str | None) -> Source | None:
        if name is None:
            return None
        return Source(name, embed_axis=-1) if name in shapes.head_vectors else Source(name)

    bias_options = _bias_options(matrices, biases)
    assignments = sorted(itertools.permutations(matrices, len(roles)),
                         key=lambda a: _plausibility(a, matrices, roles))
    # Two passes: first every assignment of roles in its uniform orientations with the likeliest biases, then the
    # rest; so that any bounded prefix of the readings covers every role assignment, whatever the names and the
    # order of declaration.
    for primary in (True, False):
        for assignment in assignments:
            choices = [_weight_choices(name, role, shapes.per_head)
                       for name, role in zip(assignment, roles, strict=False)]
            oriented = _oriented(choices)
            for index, option in enumerate(bias_options):
                bias_sources = [bias_source(option[name]) for name in assignment]
                for rank, weights in enumerate(oriented):
                    if primary != (index == 0 and rank < 2):
                        continue
                    if with_output:
                        yield Binding(weights=weights, biases=tuple(bias_sources))  # type: ignore[arg-type]
                    else:
                        yield Binding(weights=(*weights, None),  # type: ignore[arg-type]
                                      biases=(*bias_sources, None))  # type: ignore[arg-type]


def _fused_bias_options(weight: str, vectors: list[str]) -> list[str | None]:
    """Biases for a fused projection: the one named like it, then every vector of its size, then none."""
    options: list[str | None] = [_pair_bias(weight, vectors, set())]
    return options + [b for b in vectors if b not in options] + [None]


def _packed(shapes: _Shapes, with_output: bool) -> Iterator[Binding]:
    """A packed (3E, E) in-projection.

    Either q, k, v thirds (torch's own module, a fused qkv Linear split with chunk), or head by head (a fused qkv
    output viewed as (..., heads, 3, head_dim)).
    """
    e = shapes.embed
    for in_name in shapes.packed:
        transposed = tuple(shapes.params[in_name].shape) == (e, 3 * e)
        in_biases = _fused_bias_options(in_name, shapes.packed_vectors)
        by_hint = sorted(shapes.squares, key=lambda n: -_role_score(n, "o"))
        outputs: list[str | None] = list(by_hint) if with_output else [None]
        for out_name in outputs:
            out_biases = [option[out_name] for option in _bias_options([out_name], shapes.vectors)] \
                if out_name else [None]
            for interleaved, out_bias, in_bias, out_transposed in itertools.product(
                (None, shapes.heads), dict.fromkeys(out_biases), dict.fromkeys(in_biases), (False, True)
            ):
                if out_name is None and out_transposed:
                    continue
                weights = tuple(Source(in_name, transposed, chunk, interleaved_heads=interleaved)
                                for chunk in range(3))
                biases = tuple(Source(in_bias, False, chunk, interleaved_heads=interleaved) if in_bias else None
                               for chunk in range(3))
                yield Binding(
                    weights=(*weights, Source(out_name, out_transposed) if out_name else None),  # type: ignore[arg-type]
                    biases=(*biases, Source(out_bias) if out_bias else None),  # type: ignore[arg-type]
                )


def _q_and_kv(shapes: _Shapes, with_output: bool) -> Iterator[Binding]:
    """A separate (E, E) query projection beside one fused (2E, E) key-value projection (cross-attention code)."""
    e = shapes.embed
    for kv_name in shapes.packed_kv:
        kv_transposed = tuple(shapes.params[kv_name].shape) == (e, 2 * e)
        kv_biases = _fused_bias_options(kv_name, shapes.packed_kv_vectors)
        queries = sorted(shapes.squares, key=lambda n: -_role_score(n, "q"))
        for q_name in queries:
            q_bias = _bias_options([q_name], shapes.vectors)[0][q_name]
            outputs: list[str | None] = [n for n in sorted(shapes.squares, key=lambda n: -_role_score(n, "o"))
                                         if n != q_name] if with_output else [None]
            for out_name, kv_bias, transpose in itertools.product(outputs, dict.fromkeys(kv_biases),
                                                                   (False, True)):
                out_bias = _bias_options([out_name], [v for v in shapes.vectors if v != q_bias])[0][out_name] \
                    if out_name else None
                kv = tuple(Source(kv_name, kv_transposed, chunk, parts=2) for chunk in range(2))
                kv_bias_sources = tuple(Source(kv_bias, False, chunk, parts=2) if kv_bias else None
                                        for chunk in range(2))
                yield Binding(
                    weights=(Source(q_name, transpose), *kv,  # type: ignore[arg-type]
                             Source(out_name, transpose) if out_name else None),
                    biases=(Source(q_bias) if q_bias else None, *kv_bias_sources,  # type: ignore[arg-type]
                            Source(out_bias) if out_bias else None),
                )


def _identity_output(shapes: _Shapes) -> Iterator[Binding]:
    """With one head, readings of q, k, v alone whose output projection is the identity (no weight at all)."""
    if shapes.heads != 1:
        return
    for binding in itertools.chain(_packed(shapes, False), _q_and_kv(shapes, False), _separate(shapes, False)):
        yield dataclasses.replace(binding, weights=(*binding.weights[:3], Identity()))


def correct_bindings(params: Params, embed: int, heads: int) -> Iterator[Binding]:
    """Readings with the correct structure (projections of the whole embedding and an output projection)."""
    shapes = _Shapes(params, embed, heads)
    readings = itertools.chain(_packed(shapes, True), _q_and_kv(shapes, True), _separate(shapes, True),
                               _identity_output(shapes))
    yield from itertools.islice(readings, MAX_BINDINGS)


def _output_options(shapes: _Shapes) -> list[tuple[Source | None, Source | None]]:
    options: list[tuple[Source | None, Source | None]] = []
    for name in sorted(shapes.squares, key=lambda n: -_role_score(n, "o")):
        bias = next(iter(_bias_options([name], shapes.vectors)[0].values()))
        for transpose in (False, True):
            options.append((Source(name, transpose), Source(bias) if bias else None))
    options.append((None, None))
    return options


def _split_shared(shapes: _Shapes) -> Iterator[Binding]:
    """One (head_dim, head_dim) projection per q/k/v applied to every head's slice of the raw input."""
    if len(shapes.small_squares) < 3:
        return
    bias_option = _bias_options(shapes.small_squares, shapes.small_vectors)[0]
    for assignment in sorted(itertools.permutations(shapes.small_squares, 3),
                             key=lambda a: _plausibility(a, shapes.small_squares)):
        for transpose, (out, out_bias) in itertools.product((False, True), _output_options(shapes)):
            weights = tuple(Tiled((Source(n, transpose),) * shapes.heads, "block_diagonal") for n in assignment)
            biases = tuple(Tiled((Source(bias_option[n]),) * shapes.heads, "block_diagonal")  # type: ignore[arg-type]
                           if bias_option[n] else None for n in assignment)
            yield Binding(weights=(*weights, out), biases=(*biases, out_bias),  # type: ignore[arg-type]
                          structure_mistakes=("split_before_projection",))


def _split_per_head(shapes: _Shapes) -> Iterator[Binding]:
    """A separate (head_dim, head_dim) projection per head (e.g. nn.ModuleList), grouped by name without indices."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for name in shapes.small_squares:
        key = tuple(token for token in tokens(name) if not token.isdigit())
        groups.setdefault(key, []).append(name)
    full = [members for members in groups.values() if len(members) == shapes.heads]
    if len(full) < 3:
        return
    vector_groups: dict[tuple[str, ...], list[str]] = {}
    for name in shapes.small_vectors:
        vector_groups.setdefault(tuple(t for t in tokens(name) if not t.isdigit()), []).append(name)
    for assignment in itertools.permutations(full, 3):
        for transpose, (out, out_bias) in itertools.product((False, True), _output_options(shapes)):
            weights, biases = [], []
            for members in assignment:
                key = tuple(t for t in tokens(members[0]) if not t.isdigit())
                weights.append(Tiled(tuple(Source(n, transpose) for n in members), "block_diagonal"))
                vectors = vector_groups.get(key, [])
                biases.append(Tiled(tuple(Source(n) for n in vectors), "block_diagonal")
                              if len(vectors) == shapes.heads else None)
            yield Binding(weights=(*weights, out), biases=(*biases, out_bias),  # type: ignore[arg-type]
                          structure_mistakes=("split_before_projection",))


def _single_head(shapes: _Shapes) -> Iterator[Binding]:
    """Q, K, V projections to a single head (head_dim outputs), that head copied num_heads times."""
    if len(shapes.head_rows) < 3:
        return
    e = shapes.embed
    bias_option = _bias_options(shapes.head_rows, shapes.small_vectors)[0]
    for assignment in sorted(itertools.permutations(shapes.head_rows, 3),
                             key=lambda a: _plausibility(a, shapes.head_rows)):
        for out, out_bias in _output_options(shapes):
            weights = tuple(Tiled((Source(n, tuple(shapes.params[n].shape)[0] == e),) * shapes.heads, "stacked")
                            for n in assignment)
            biases = tuple(Tiled((Source(bias_option[n]),) * shapes.heads, "stacked")  # type: ignore[arg-type]
                           if bias_option[n] else None for n in assignment)
            yield Binding(weights=(*weights, out), biases=(*biases, out_bias),  # type: ignore[arg-type]
                          structure_mistakes=("single_head_copied",))


_Roles = tuple[tuple[Source, ...], tuple[Source | None, ...]]


def _square_roles(shapes: _Shapes, roles: Sequence[str]) -> Iterator[_Roles]:
    """Every assignment of (E, E) matrices to ``roles``, most plausible first, in both uniform orientations.

    Biases by name, else by position, else none.
    """
    squares = shapes.squares
    if len(squares) < len(roles):
        return
    bias_option = _bias_options(squares, shapes.vectors)[0]
    for assignment in sorted(itertools.permutations(squares, len(roles)),
                             key=lambda a: _plausibility(a, squares, roles)):
        for transpose in (False, True):
            yield (tuple(Source(name, transpose) for name in assignment),
                   tuple(Source(bias) if (bias := bias_option[name]) else None for name in assignment))


def _no_value(shapes: _Shapes) -> Iterator[Binding]:
    """Learned Q, K and output projections, and the input itself as the values."""
    for (q, k, o), (q_bias, k_bias, o_bias) in _square_roles(shapes, ("q", "k", "o")):
        yield Binding(weights=(q, k, Identity(), o), biases=(q_bias, k_bias, None, o_bias),
                      structure_mistakes=("no_value_projection",))


def _shared_qk(shapes: _Shapes) -> Iterator[Binding]:
    """One projection read as both the queries and the keys, with its own value and output projections."""
    for (qk, v, o), (qk_bias, v_bias, o_bias) in _square_roles(shapes, ("q", "v", "o")):
        yield Binding(weights=(qk, qk, v, o), biases=(qk_bias, qk_bias, v_bias, o_bias),
                      structure_mistakes=("shared_qk_projection",))


_NORM_HINTS = {"norm", "ln", "layernorm", "layer"}
_NORM_WEIGHT_HINTS = {"weight", "gamma", "g", "scale"}


def layer_norm_params(params: Params, binding: Binding, embed: int) -> dict[str, torch.Tensor | None]:
    """The affine weight and bias of an extra LayerNorm, from the (E,) vectors the binding does not read.

    Those named like a norm come first; the weight is found by its name (else the first), the bias is the vector
    that shares its name's stem (else the next).
    """
    used = binding.parameter_names()
    leftover = [name for name, value in params.items() if name not in used and tuple(value.shape) == (embed,)]
    leftover.sort(key=lambda name: not _NORM_HINTS & set(tokens(name)))
    if not leftover:
        return {"norm_weight": None, "norm_bias": None}
    last = {name: re.split(r"[._]", name)[-1].lower() for name in leftover}
    weight = next((name for name in leftover if last[name] in _NORM_WEIGHT_HINTS), leftover[0])
    rest = [name for name in leftover if name != weight]
    bias = next((name for name in rest if tokens(name) == tokens(weight)), rest[0] if rest else None)
    return {"norm_weight": params[weight], "norm_bias": params[bias] if bias else None}


def mistaken_bindings(params: Params, embed: int, heads: int, per_family: int = 64) -> Iterator[Binding]:
    """Readings that reproduce structural mistakes, at most ``per_family`` of each kind."""
    shapes = _Shapes(params, embed, heads)
    families = (
        itertools.chain(_packed(shapes, False), _q_and_kv(shapes, False), _separate(shapes, False)),
        _split_shared(shapes),
        _split_per_head(shapes),
        _single_head(shapes),
        _no_value(shapes),
        _shared_qk(shapes),
    )
    for family in families:
        yield from itertools.islice(family, per_family)
