"""Values of a configuration: shape expressions, argument references, and the host's draws of every input."""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from typing import Any

import torch

from runners.agent.draws import draw_tensor

from .spec import InputSpec, Scalar

_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.FloorDiv: operator.floordiv,
           ast.Mod: operator.mod}


class SpecError(ValueError):
    """A problem file's expression or reference that cannot be evaluated in a configuration."""


def evaluate(expression: int | str, values: Mapping[str, Scalar]) -> int:
    """An integer size: a literal, a value's name, or ``+ - * // %`` / ``min`` / ``max`` over them."""
    if isinstance(expression, int):
        return expression
    try:
        tree = ast.parse(str(expression), mode="eval").body
    except SyntaxError as exc:
        raise SpecError(f"bad expression {expression!r}") from exc
    return int(_node(tree, values, str(expression)))


def _node(node: ast.AST, values: Mapping[str, Scalar], text: str) -> int:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        if type(value) is not int:
            raise SpecError(f"{text!r}: {node.id!r} is not an integer value of the configuration")
        return value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        return int(_BINARY[type(node.op)](_node(node.left, values, text), _node(node.right, values, text)))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_node(node.operand, values, text)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("min", "max") \
            and node.args and not node.keywords:
        function = min if node.func.id == "min" else max
        return int(function(_node(arg, values, text) for arg in node.args))
    raise SpecError(f"{text!r}: only + - * // %, min and max over integer values are allowed")


def shape_of(dims: list[int | str], values: Mapping[str, Scalar]) -> tuple[int, ...]:
    """A shape in a configuration."""
    shape = tuple(evaluate(dim, values) for dim in dims)
    if any(size < 0 for size in shape):
        raise SpecError(f"negative size in {dims}")
    return shape


def draw_spec(spec: InputSpec, values: Mapping[str, Scalar], seed: int,
              shape: list[int | str] | None = None) -> dict[str, Any]:
    """The agent-side draw spec of an input in a configuration (law arguments resolved)."""
    arguments = {key: values[value] if isinstance(value, str) and value in values else value
                 for key, value in spec.args.items()}
    return {"shape": list(shape_of(shape if shape is not None else spec.tensor, values)), "dtype": spec.dtype,
            "law": spec.law, "seed": seed, **arguments}


def draw_input(spec: InputSpec, values: Mapping[str, Scalar], seed: int,
               shape: list[int | str] | None = None) -> torch.Tensor:
    """The host's draw of an input."""
    return draw_tensor(draw_spec(spec, values, seed, shape))


def resolve(reference: Any, inputs: Mapping[str, Any], values: Mapping[str, Scalar]) -> Any:
    """The host's value of an argument reference (inputs first, then configuration values)."""
    if isinstance(reference, str):
        if reference in inputs:
            return inputs[reference]
        if reference in values:
            return values[reference]
        raise SpecError(f"{reference!r} is neither an input nor a value of the configuration")
    if isinstance(reference, dict) and len(reference) == 1:
        (kind, body), = reference.items()
        if kind == "literal":
            return body
        if kind == "tuple" and isinstance(body, list):
            return tuple(resolve(item, inputs, values) for item in body)
        if kind == "params":
            return inputs["$params"]
    raise SpecError(f"bad argument reference {reference!r}")
