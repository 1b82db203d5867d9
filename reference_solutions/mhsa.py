"""Reference for multi-head self-attention with a (seq, batch, embed) input, and the ways to read a candidate's weights.

The reference is a pure function of the input and a set of weights in ``nn.Linear`` convention (``y = x W^T + b``).
A *binding* says where each of those weights lives among the candidate's parameters (which tensor, which rows,
whether it is stored transposed), so the reference can be run under exactly the candidate's weights, and autograd
gives gradients with respect to the candidate's own parameters.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch

ROLES = ("q", "k", "v", "o")
_ROLE_HINTS = {
    "q": {"q", "query", "queries", "wq", "qproj"},
    "k": {"k", "key", "keys", "wk", "kproj"},
    "v": {"v", "value", "values", "wv", "vproj"},
    "o": {"o", "out", "output", "wo", "oproj", "proj", "combine", "fc", "dense", "merge", "final"},
}
_MAX_BINDINGS = 2000


@dataclass(frozen=True)
class Source:
    """Where one weight (Linear convention, ``(out, in)``) or bias lives in the candidate's parameters."""

    name: str
    transpose: bool = False
    chunk: int | None = None
    """Which third (q, k, v) of a packed tensor, along its output axis; sizes follow the configuration."""
    embed_axis: int | None = None
    """For per-head tensors such as (H, E, head_dim): the axis of size E; the other two, (H, head_dim) in that
    order, are flattened into one. A per-head bias (H, head_dim) is flattened with ``embed_axis`` -1."""

    def take(self, params: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The weight or bias, in Linear convention, as a differentiable view of the candidate's tensor."""
        value = params[self.name]
        if self.embed_axis == -1:
            value = value.reshape(-1)
        elif self.embed_axis is not None:
            moved = value.movedim(self.embed_axis, 0)
            value = moved.reshape(moved.shape[0], -1)
        if self.transpose:
            value = value.transpose(0, 1)
        if self.chunk is not None:
            value = value.chunk(3, dim=0)[self.chunk]
        return value

    def describe(self) -> str:
        """E.g. ``in_proj_weight (part 1 of 3)``."""
        text = self.name
        if self.chunk is not None:
            text += f" (part {self.chunk + 1} of 3)"
        if self.embed_axis is not None and self.embed_axis >= 0:
            text += " (per head)"
        return text + (" (used as x @ W)" if self.transpose else "")


@dataclass(frozen=True)
class Binding:
    """Where the reference's q, k, v and output weights and biases live in the candidate's parameters."""

    weights: tuple[Source, Source, Source, Source]
    biases: tuple[Source | None, Source | None, Source | None, Source | None]

    def describe(self) -> dict[str, str]:
        """Role -> parameter, for the scorecard's details."""
        text = {}
        for role, weight, bias in zip(ROLES, self.weights, self.biases, strict=True):
            text[role] = weight.describe() + (f" + {bias.describe()}" if bias else "")
        return text

    def parameter_names(self) -> set[str]:
        """Candidate parameters this binding reads."""
        sources = [*self.weights, *(bias for bias in self.biases if bias is not None)]
        return {source.name for source in sources}


def attention(x: torch.Tensor, params: Mapping[str, torch.Tensor], binding: Binding, num_heads: int) -> torch.Tensor:
    """Multi-head self-attention of ``x`` (seq, batch, embed) under the weights ``binding`` reads."""
    seq_len, batch, embed_dim = x.shape
    head_dim = embed_dim // num_heads

    def project(index: int) -> torch.Tensor:
        weight = binding.weights[index].take(params)
        bias_source = binding.biases[index]
        out = x @ weight.transpose(0, 1)
        return out + bias_source.take(params) if bias_source is not None else out

    def heads(t: torch.Tensor) -> torch.Tensor:  # (seq, batch, embed) -> (batch, heads, seq, head_dim)
        return t.reshape(seq_len, batch, num_heads, head_dim).permute(1, 2, 0, 3)

    q, k, v = (heads(project(index)) for index in range(3))
    scores = q @ k.transpose(-1, -2) / math.sqrt(head_dim)
    weights = torch.softmax(scores, dim=-1)
    context = (weights @ v).permute(2, 0, 1, 3).reshape(seq_len, batch, embed_dim)
    out_weight = binding.weights[3].take(params)
    out = context @ out_weight.transpose(0, 1)
    out_bias = binding.biases[3]
    return out + out_bias.take(params) if out_bias is not None else out


def _tokens(name: str) -> list[str]:
    """Lower-case name parts, with weight/bias markers removed (``W_q`` -> ``q``, ``q_proj.weight`` -> ``q proj``)."""
    parts = [p for p in re.split(r"[._]|(?<=[a-z])(?=[A-Z])", name) if p]
    tokens = []
    for part in parts:
        lower = part.lower()
        if lower in {"weight", "weights", "bias", "biases", "w", "b", "param", "parameter"}:
            continue
        if len(lower) == 2 and lower[0] in "wb" and lower[1] in "qkvo":
            lower = lower[1]
        tokens.append(lower)
    return tokens


def _role_score(name: str, role: str) -> int:
    tokens = _tokens(name)
    joined = "".join(tokens)
    return int(any(token in _ROLE_HINTS[role] for token in tokens) or joined in _ROLE_HINTS[role])


def _pair_bias(weight: str, biases: list[str], used: set[str]) -> str | None:
    """The bias that belongs with ``weight`` by name, if exactly one does."""
    matches = [b for b in biases if b not in used and _tokens(b) == _tokens(weight)]
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


class MHSAReference:
    """The reference solution object the engine uses."""

    def forward(self, params: Mapping[str, torch.Tensor], binding: Binding, x: torch.Tensor,
                sizes: Mapping[str, int]) -> torch.Tensor:
        """The reference output for input ``x`` under the candidate's parameters."""
        return attention(x, params, binding, sizes["num_heads"])

    def bindings(self, params: Mapping[str, torch.Tensor], sizes: Mapping[str, int]) -> Iterator[Binding]:
        """Plausible readings of the candidate's parameters, most likely first."""
        embed = sizes["embed_dim"]
        order = list(params)
        squares = [n for n in order if tuple(params[n].shape) == (embed, embed)]
        packed = [n for n in order if tuple(params[n].shape) in {(3 * embed, embed), (embed, 3 * embed)}]
        vectors = [n for n in order if tuple(params[n].shape) == (embed,)]
        packed_vectors = [n for n in order if tuple(params[n].shape) == (3 * embed,)]
        heads = sizes["num_heads"]
        head_dim = embed // heads if heads else 0
        per_head = {n: axis for n in order if (axis := _per_head_embed_axis(tuple(params[n].shape), embed, heads,
                                                                           head_dim)) is not None}
        head_vectors = [n for n in order if tuple(params[n].shape) == (heads, head_dim) and n not in per_head]
        count = 0
        for binding in itertools.chain(
            self._packed_bindings(params, embed, squares, packed, vectors, packed_vectors),
            self._separate_bindings([n for n in order if n in squares or n in per_head], per_head,
                                    vectors + head_vectors, set(head_vectors)),
        ):
            yield binding
            count += 1
            if count >= _MAX_BINDINGS:
                return

    @staticmethod
    def _packed_bindings(params: Mapping[str, torch.Tensor], embed: int, squares: list[str], packed: list[str],
                         vectors: list[str], packed_vectors: list[str]) -> Iterator[Binding]:
        chunks = range(3)
        for in_name in packed:
            transposed = tuple(params[in_name].shape) == (embed, 3 * embed) and 3 * embed != embed
            in_biases: list[str | None] = [_pair_bias(in_name, packed_vectors, set())]
            in_biases += [b for b in packed_vectors if b not in in_biases] + [None]
            for out_name in sorted(squares, key=lambda n: -_role_score(n, "o")):
                out_biases = [option[out_name] for option in _bias_options([out_name], vectors)]
                for out_bias, in_bias, out_transposed in itertools.product(
                    dict.fromkeys(out_biases), dict.fromkeys(in_biases), (False, True)
                ):
                    weights = tuple(Source(in_name, transposed, chunk) for chunk in chunks)
                    biases = tuple(Source(in_bias, False, chunk) if in_bias else None for chunk in chunks)
                    yield Binding(
                        weights=(*weights, Source(out_name, out_transposed)),  # type: ignore[arg-type]
                        biases=(*biases, Source(out_bias) if out_bias else None),  # type: ignore[arg-type]
                    )

    @staticmethod
    def _separate_bindings(matrices: list[str], per_head: dict[str, int], biases: list[str],
                           head_biases: set[str]) -> Iterator[Binding]:
        """Four separate projections: (E, E) matrices either way round, or per-head 3-D tensors."""
        if len(matrices) < 4:
            return

        def plausibility(assignment: tuple[str, ...]) -> tuple[int, int]:
            hints = sum(_role_score(name, role) for name, role in zip(assignment, ROLES, strict=True))
            displacement = sum(abs(matrices.index(name) - i) for i, name in enumerate(assignment))
            return (-hints, displacement)

        def weight_sources(name: str, role: str) -> list[Source]:
            if name in per_head:  # flattened to (E, H*head_dim): q/k/v read it as x @ W, the output as W x
                return [Source(name, transpose=role != "o", embed_axis=per_head[name])]
            return [Source(name, False), Source(name, True)]

        def bias_source(name: str | None) -> Source | None:
            if name is None:
                return None
            return Source(name, embed_axis=-1) if name in head_biases else Source(name)

        assignments = sorted(itertools.permutations(matrices, 4), key=plausibility)
        bias_options = _bias_options(matrices, biases)
        for assignment in assignments:
            choices = [weight_sources(name, role) for name, role in zip(assignment, ROLES, strict=True)]
            orientations = sorted(itertools.product(*choices),
                                  key=lambda combo: (len({s.transpose for s in combo}) > 1,
                                                     sum(s.transpose for s in combo)))
            for option in bias_options:
                bias_sources = tuple(bias_source(option[name]) for name in assignment)
                for weights in orientations:
                    yield Binding(weights=weights, biases=bias_sources)  # type: ignore[arg-type]


def _per_head_embed_axis(shape: tuple[int, ...], embed: int, heads: int, head_dim: int) -> int | None:
    """For a 3-D per-head tensor ((H, E, d), (E, H, d) or (H, d, E)), the axis of size E."""
    if len(shape) != 3:
        return None
    for axis in range(3):
        rest = tuple(size for index, size in enumerate(shape) if index != axis)
        if shape[axis] == embed and rest == (heads, head_dim):
            return axis
    return None


REFERENCE = MHSAReference()
