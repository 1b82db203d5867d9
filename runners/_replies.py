"""What the host accepts from the sandbox: every reply checked on arrival, before it is believed or loaded.

The agent shares its process with the candidate's code, so each reply may have been written by the candidate. A
reply is accepted only in the shape its probe can produce: known facts of the right types (unknown ones dropped,
strings capped), error descriptions of the agent's shape, and tensors of expected names and floating dtypes whose
sizes are read from the safetensors header and bounded before anything is allocated. A reply that breaks these rules
raises ``ReplyRefused``, which the conversation ends as the candidate's crash.

For probes of hidden configurations the host also replaces what could describe the hidden sizes (error messages,
type names the candidate's code chose) with its own words, keeping the error's type when it is a standard one and
the line of the candidate's file, with that line's code read by the host from the file it holds.
"""

from __future__ import annotations

import ast
import builtins
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from .agent.wire import MAX_HEADER_BYTES, WireError, parse_header
from .base import STARTUP, Job, Probe

MIB = 1 << 20

MAX_MESSAGE_CHARS = 2000
MAX_CODE_CHARS = 200
MAX_NAME_CHARS = 200
MAX_PARAMETER_NAME_CHARS = 1000
"""Dotted parameter names of nested modules grow long; the host uses them as keys, so they are refused, not cut."""
MAX_KIND_CHARS = 100
MAX_WHERE_FRAMES = 5
MAX_TOP_LEVEL_NAMES = 50
MAX_PARAMETERS = 4096
MAX_RANK = 8
MAX_DIM = 1 << 40
MAX_COUNT = 1 << 53

REPLY_FLOOR_BYTES = 8 * MIB
"""Every probe that returns tensors may use this much, whatever its inputs (safetensors headers, small outputs)."""
OUTPUT_FACTOR = 16
"""How many times the input's size an output may be: a wrong module can legitimately return a larger tensor (the
attention weights, a concatenation), and the host still wants to see it."""
WIDEST_ITEM_BYTES = 8
TENSOR_HEADER_BYTES = 512
"""Room per tensor for its entry in the safetensors header (name, dtype, shape, offsets)."""

ALLOWED_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
"""The safetensors dtypes a reply's tensors may have, with their item sizes: every tensor the agent returns is a
floating-point copy (outputs, inputs after the call, gradients, parameters), and the host only compares floats."""

NO_TENSOR_KINDS = frozenset({"load", "construct", "report", "bench_forward", "entry", "new", "set_grads"})

WITHHELD_MESSAGE = "the message is withheld: it was raised after the checks of hidden configurations began"
WITHHELD_MEMORY_MESSAGE = "out of memory (the message is withheld: hidden configurations were being checked)"
WITHHELD_KIND = "object"
"""How a type name the candidate's code chose is shown for a hidden configuration (a class can be named anything,
the hidden sizes included)."""

STANDARD_EXCEPTIONS = frozenset(
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
) | {"OutOfMemoryError", "ProbeError"}
PLAIN_TYPE_NAMES = frozenset(
    {
        "Tensor",
        "Parameter",
        "tuple",
        "list",
        "dict",
        "NoneType",
        "int",
        "float",
        "bool",
        "str",
        "complex",
        "bytes",
        "set",
        "object",
    }
)


class ReplyRefused(Exception):
    """A reply broke the rules of its probe.

    ``problem`` is a fixed phrase (safe to show even for a hidden configuration); ``detail`` may carry sizes and
    names from the reply.
    """

    def __init__(self, probe_id: str, problem: str, detail: str = "") -> None:
        super().__init__(f"{probe_id}: {problem}" + (f" ({detail})" if detail else ""))
        self.probe_id = probe_id
        self.problem = problem
        self.detail = detail

    def describe(self, withheld: bool) -> str:
        """The sentence for the scorecard; without the detail for a hidden configuration."""
        text = f"the sandbox's reply to probe {self.probe_id} was refused: {self.problem}"
        return text if withheld or not self.detail else f"{text} ({self.detail[:MAX_MESSAGE_CHARS]})"


class _Bad(Exception):
    """A value of a reply is not what its probe can produce (raised by the field validators)."""


# ----------------------------------------------------------------------------------------------------- values


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Bad(f"expected true or false, got {type(value).__name__}")
    return value


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise _Bad(f"expected a count, got {_show(value)}")
    return value


def _optional_line(value: Any) -> int | None:
    return None if value is None else _count(value)


def _capped(limit: int) -> Callable[[Any], str]:
    def text(value: Any) -> str:
        if not isinstance(value, str):
            raise _Bad(f"expected a string, got {type(value).__name__}")
        return value[:limit]

    return text


_kind_text = _capped(MAX_KIND_CHARS)


def _name(value: Any) -> str:
    """A parameter's name, which the host uses as a key: refused, not cut, when too long (cut names could collide)."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_PARAMETER_NAME_CHARS:
        raise _Bad(f"expected a name of 1 to {MAX_PARAMETER_NAME_CHARS} characters, got {_show(value)}")
    return value


def _names(limit: int, each: Callable[[Any], str]) -> Callable[[Any], list[str]]:
    def names(value: Any) -> list[str]:
        if not isinstance(value, list) or len(value) > limit:
            raise _Bad(f"expected a list of at most {limit} names")
        return [each(item) for item in value]

    return names


def _measure(value: Any) -> float:
    """A non-negative finite figure (milliseconds, MiB): NaN or infinity would pass or fail any comparison."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise _Bad(f"expected a non-negative finite number, got {_show(value)}")
    return float(value)


def _checksum(value: Any) -> float:
    """A checksum of the output: any number, NaN included (an output with NaN has one).

    NaN is stored as infinity: it compares false with every tolerance, so a check written as ``difference >
    tolerance`` would take a NaN checksum for a match; infinity differs from every finite expected value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"expected a number, got {_show(value)}")
    number = float(value)
    return math.inf if math.isnan(number) else number


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or len(value) > MAX_RANK:
        raise _Bad(f"expected a shape (a list of at most {MAX_RANK} sizes), got {_show(value)}")
    for size in value:
        if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_DIM:
            raise _Bad(f"expected sizes from 0 to 2**40 in a shape, got {_show(size)}")
    return tuple(value)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ------------------------------------------------------------------------------------------------------ facts


def _parameters(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or len(value) > MAX_PARAMETERS:
        raise _Bad(f"expected a list of at most {MAX_PARAMETERS} parameters")
    described = []
    for entry in value:
        if not isinstance(entry, dict):
            raise _Bad("expected each parameter as an object")
        described.append(
            {
                "name": _name(entry.get("name")),
                "shape": list(_shape(entry.get("shape"))),
                "dtype": _capped(32)(entry.get("dtype")),
            }
        )
    names = [entry["name"] for entry in described]
    if len(set(names)) != len(names):
        raise _Bad("two parameters have the same name")
    return described


def _banned_calls(allowed: frozenset[str]) -> Callable[[Any], dict[str, int]]:
    def calls(value: Any) -> dict[str, int]:
        if not isinstance(value, dict):
            raise _Bad("expected an object of counts")
        # Only the callables the host asked about are kept: anything else is not the host's question.
        return {name: _count(count) for name, count in value.items() if name in allowed}

    return calls


_OUTPUT_FACTS: dict[str, Callable[[Any], Any]] = {
    "output_kind": _kind_text,
    "tuple_length": _count,
    "first_element_kind": _kind_text,
    "output_type": _kind_text,
}
_FACTS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "load": {
        "found": _flag,
        "is_class": _flag,
        "is_module": _flag,
        "top_level_names": _names(MAX_TOP_LEVEL_NAMES, _capped(MAX_NAME_CHARS)),
    },
    "construct": {"parameters": _parameters},
    "randomize": {"count": _count},
    "forward": _OUTPUT_FACTS,
    "backward": {
        **_OUTPUT_FACTS,
        "no_graph": _flag,
        "grad_shape_mismatch": _flag,
        "params_without_grad": _names(MAX_PARAMETERS, _name),
    },
    "bench_forward": {**_OUTPUT_FACTS, "checksum": _checksum, "cuda_ms": _measure, "device_peak_mb": _measure},
    "report": {},
}
_KIND_FACTS = ("output_kind", "first_element_kind", "output_type")

MAX_DESCRIBED_ITEMS = 8
MAX_DESCRIBED_DEPTH = 3
_VALUE_KINDS = frozenset({"tensor", "value", "tuple", "other"})


def _described(value: Any, depth: int = 0) -> dict[str, Any]:
    """The agent's description of a returned value (``calls.describe_value``): kinds, tensor names, scalars."""
    if not isinstance(value, dict) or value.get("kind") not in _VALUE_KINDS:
        raise _Bad("expected a value description")
    kind = value["kind"]
    if kind == "tensor":
        return {"kind": kind, "name": _name(value.get("name")), "dtype": _capped(32)(value.get("dtype")),
                "shape": list(_shape(value.get("shape"))), "requires_grad": _flag(value.get("requires_grad", False))}
    if kind == "value":
        scalar = value.get("value")
        if scalar is not None and type(scalar) not in (bool, int, float, str):
            raise _Bad("a returned value is not a scalar")
        if type(scalar) is str:
            scalar = scalar[:200]
        if type(scalar) is int and not -MAX_COUNT <= scalar <= MAX_COUNT:
            raise _Bad("a returned integer is out of range")
        return {"kind": kind, "value": scalar}
    if kind == "tuple":
        items = value.get("items")
        if depth >= MAX_DESCRIBED_DEPTH or not isinstance(items, list) or len(items) > MAX_DESCRIBED_ITEMS:
            raise _Bad("a returned tuple is described too deeply or with too many items")
        return {"kind": kind, "length": _count(value.get("length", len(items))),
                "items": [_described(item, depth + 1) for item in items]}
    return {"kind": kind, "type": _kind_text(value.get("type", "object"))}


def _flags_by_name(value: Any) -> dict[str, bool]:
    if not isinstance(value, dict) or len(value) > MAX_PARAMETERS:
        raise _Bad("expected an object of flags")
    return {_name(key): _flag(flag) for key, flag in value.items()}


def _grad_problem(value: Any) -> str:
    if value not in ("no tensor output", "no_graph", "shape"):
        raise _Bad(f"unknown gradient problem {_show(value)}")
    return str(value)


_FACTS.update({
    "entry": {"found": _flag, "is_class": _flag, "is_module": _flag, "is_callable": _flag,
              "signature": _capped(500), "methods": _flags_by_name},
    "new": {"type": _kind_text, "parameters": _parameters},
    "call": {"output": _described, "checksum": _checksum, "grad_problem": _grad_problem,
             "params_without_grad": _names(MAX_PARAMETERS, _name)},
    "set_grads": {},
    "observe": {"grad_none": _flags_by_name},
})


def validate_facts(probe: Probe, facts: Any, banned: frozenset[str]) -> dict[str, Any]:
    """The facts of a successful reply, typed as the probe's kind produces them; unknown keys are dropped."""
    if not isinstance(facts, dict):
        raise ReplyRefused(probe.id, "its facts are not an object", f"got {type(facts).__name__}")
    fields = dict(_FACTS.get(probe.kind, {}))
    if probe.kind == "report":
        fields["banned_calls"] = _banned_calls(banned)
    checked = {}
    for key, validate in fields.items():
        if key in facts:
            try:
                checked[key] = validate(facts[key])
            except _Bad as exc:
                raise ReplyRefused(probe.id, "a fact has the wrong type or range", f"{key}: {exc}") from None
    return checked


# ----------------------------------------------------------------------------------------------------- errors


def validate_error(probe: Probe, error: Any) -> dict[str, Any] | None:
    """The error of a failed reply in the agent's shape, strings capped; None when the reply gave none."""
    if error is None:
        return None
    if not isinstance(error, dict):
        raise ReplyRefused(probe.id, "its error is not an object", f"got {type(error).__name__}")
    try:
        checked: dict[str, Any] = {
            "type": _capped(MAX_KIND_CHARS)(error.get("type", "Error")),
            "message": _capped(MAX_MESSAGE_CHARS)(error.get("message", "")),
            "where": _where(error.get("where", [])),
        }
        # A syntax error also says where in the file it is.
        for key, validate in (("line", _optional_line), ("offset", _optional_line), ("code", _capped(MAX_CODE_CHARS))):
            if key in error:
                checked[key] = validate(error[key])
    except _Bad as exc:
        raise ReplyRefused(probe.id, "its error description has the wrong shape", str(exc)) from None
    return checked


def _where(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _Bad("'where' is not a list")
    frames = []
    for frame in value[-MAX_WHERE_FRAMES:]:
        if not isinstance(frame, dict):
            raise _Bad("a frame of 'where' is not an object")
        frames.append(
            {
                "line": _optional_line(frame.get("line")),
                "function": _capped(MAX_NAME_CHARS)(frame.get("function", "")),
                "code": _capped(MAX_CODE_CHARS)(frame.get("code", "")),
            }
        )
    return frames


@dataclass
class SubmissionSource:
    """The candidate's file as the host holds it: the lines, and the function each line belongs to."""

    lines: list[str] = field(default_factory=list)
    functions: list[tuple[int, int, str]] = field(default_factory=list)
    """(first line, last line, name) of every function definition."""

    @classmethod
    def read(cls, path: Path) -> SubmissionSource:
        """Read and parse ``path``; an unreadable or unparsable file gives what could be read."""
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return cls()
        source = cls(lines=text.splitlines())
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return source
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                source.functions.append((node.lineno, node.end_lineno or node.lineno, node.name))
        return source

    def frame(self, line: Any) -> dict[str, Any] | None:
        """Where a line of the file is, in the host's own words; None when the file has no such line."""
        if isinstance(line, bool) or not isinstance(line, int) or not 1 <= line <= len(self.lines):
            return None
        enclosing = [(first, name) for first, last, name in self.functions if first <= line <= last]
        function = max(enclosing)[1] if enclosing else "<module>"  # the innermost definition starts last
        return {"line": line, "function": function, "code": self.lines[line - 1].strip()[:MAX_CODE_CHARS]}


def withheld_error(error: dict[str, Any] | None, source: SubmissionSource) -> dict[str, Any] | None:
    """An error given after the hidden checks began, in the host's words.

    A standard type name (any other becomes ``Exception``), the line with its code and function as the host reads
    them from the file, and no message.
    """
    if error is None:
        return None
    kind = error.get("type", "Error")
    message = str(error.get("message", "")).lower()
    out_of_memory = kind == "MemoryError" or "out of memory" in message or "can't allocate memory" in message
    where = error.get("where") or []
    frame = source.frame(where[-1].get("line")) if where else None
    return {
        "type": kind if kind in STANDARD_EXCEPTIONS else "Exception",
        "message": WITHHELD_MEMORY_MESSAGE if out_of_memory else WITHHELD_MESSAGE,
        "where": [frame] if frame is not None else [],
    }


def withheld_facts(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts given after the hidden checks began, with type names and lengths the candidate's code chose made plain."""
    plain = dict(facts)
    plain.pop("tuple_length", None)  # a length the candidate's code chose
    for key in _KIND_FACTS:
        if key in plain and plain[key] not in PLAIN_TYPE_NAMES:
            plain[key] = WITHHELD_KIND
    if key_type := plain.get("type"):
        plain["type"] = key_type if key_type in PLAIN_TYPE_NAMES else WITHHELD_KIND
    if isinstance(plain.get("output"), dict):
        plain["output"] = _withheld_description(plain["output"])
    return plain


def _withheld_description(description: dict[str, Any]) -> dict[str, Any]:
    """A returned value's description with what the candidate's code chose to name made plain (a type, a string)."""
    plain = dict(description)
    if plain.get("kind") == "other" and plain.get("type") not in PLAIN_TYPE_NAMES:
        plain["type"] = WITHHELD_KIND
    if plain.get("kind") == "value" and isinstance(plain.get("value"), str):
        plain["value"] = WITHHELD_KIND
    if plain.get("kind") == "tuple":
        plain["items"] = [_withheld_description(item) for item in plain.get("items", [])]
    return plain


# ---------------------------------------------------------------------------------------------------- tensors


@dataclass(frozen=True)
class TensorEntry:
    """One tensor as the safetensors header announces it."""

    dtype: str
    shape: tuple[int, ...]


def read_safetensors_header(blob: bytes) -> dict[str, TensorEntry]:
    """The tensors a safetensors blob announces, checked against the blob before anything is loaded.

    Every entry must have an allowed dtype, a bounded shape, and offsets that match its size and lie in the blob;
    raises ``_Bad`` otherwise.
    """
    if len(blob) < 8:
        raise _Bad("the tensor blob is shorter than its length prefix")
    header_len = int.from_bytes(blob[:8], "little")
    if header_len > min(MAX_HEADER_BYTES, len(blob) - 8):
        raise _Bad(f"the tensor header announces {header_len} bytes")
    try:
        header = parse_header(blob[8 : 8 + header_len])
    except WireError as exc:
        raise _Bad(f"the tensor header is not a JSON object ({exc})") from None
    data_len = len(blob) - 8 - header_len
    entries = {}
    covered = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(entry, dict):
            raise _Bad(f"tensor {_show(name)} is not described by an object")
        dtype = entry.get("dtype")
        if dtype not in ALLOWED_DTYPES:
            raise _Bad(
                f"tensor {_show(name)} has dtype {_show(dtype)}; only float16, bfloat16, float32 and float64 "
                "may come back"
            )
        shape = _shape(entry.get("shape"))
        offsets = entry.get("data_offsets")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or any(isinstance(o, bool) or not isinstance(o, int) for o in offsets)
        ):
            raise _Bad(f"tensor {_show(name)} has no valid data offsets")
        begin, end = offsets
        size = math.prod(shape) * ALLOWED_DTYPES[dtype]
        if not 0 <= begin <= end <= data_len or end - begin != size:
            raise _Bad(f"tensor {_show(name)}'s data does not match its shape and dtype")
        covered += size
        entries[name] = TensorEntry(dtype=dtype, shape=shape)
    if covered > data_len:
        raise _Bad("the tensors' data exceed the blob")
    return entries


# ----------------------------------------------------------------------------------------------------- checker


class ReplyChecker:
    """Checks each reply of one run against its probe, and bounds the bytes the run's replies may carry.

    It remembers what earlier replies established (each instance's parameters, from its construct probe) to check
    later ones (randomised values and gradients must be those parameters, in their shapes).
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.run_budget = job.limits.reply_mb * MIB
        self.received = 0
        self.banned = frozenset(job.banned_callables)
        self.parameters: dict[str, dict[str, tuple[int, ...]]] = {}
        self.host_params: dict[str, tuple[int, ...]] = {}
        """The parameters the host handed to the sandbox (``new`` probes' ``param/`` tensors), by name."""
        self.host_param_bytes = 0
        self._source: SubmissionSource | None = None
        self.on_cuda = False
        """The job asked for CUDA and the hello (sent before any of the candidate's code ran) says it got it."""

    def _declared(self, probe: Probe) -> dict[str, tuple[int, ...]]:
        instance = probe.params.get("instance")
        if instance is None and isinstance(probe.params.get("target"), dict):
            instance = probe.params["target"].get("instance")
        return self.parameters.get(str(instance), {})

    def legitimate_bytes(self, probe: Probe) -> int:
        """The most a correct agent's reply to this probe can carry, derived from what the host sent and knows."""
        if probe.kind in NO_TENSOR_KINDS:
            return 0
        declared = self._declared(probe)
        parameter_bytes = sum(WIDEST_ITEM_BYTES * math.prod(shape) + TENSOR_HEADER_BYTES for shape in declared.values())
        if probe.kind == "randomize":
            return REPLY_FLOOR_BYTES + parameter_bytes
        if probe.kind in ("call", "observe"):
            return REPLY_FLOOR_BYTES + self._call_bytes(probe) + parameter_bytes + self.host_param_bytes
        sent = probe.tensors.get(str(probe.params.get("input")))
        input_bytes = WIDEST_ITEM_BYTES * (sent.numel() if sent is not None else 0)
        # The output, and the input after the call (or its gradient), each in the widest dtype.
        tensor_bytes = REPLY_FLOOR_BYTES + input_bytes * (OUTPUT_FACTOR + 1)
        return tensor_bytes + parameter_bytes if probe.kind == "backward" else tensor_bytes

    def _call_bytes(self, probe: Probe) -> int:
        """What a call's outputs and input gradients may legitimately weigh: a multiple of what it received."""
        sent = sum(tensor.numel() for tensor in probe.tensors.values())
        drawn = 0
        for spec in [*probe.params.get("args", []), *probe.params.get("kwargs", {}).values()]:
            if isinstance(spec, dict) and isinstance(spec.get("d"), dict):
                drawn += math.prod(int(size) for size in spec["d"].get("shape", []))
        return WIDEST_ITEM_BYTES * (sent + drawn) * (OUTPUT_FACTOR + 1) + TENSOR_HEADER_BYTES * 64

    def blob_cap(self, probe: Probe) -> int:
        """The largest blob accepted for this probe's reply: its legitimate size, within what the run has left."""
        return max(0, min(self.legitimate_bytes(probe), self.run_budget - self.received))

    def source(self) -> SubmissionSource:
        """The candidate's file, read once by the host."""
        if self._source is None:
            self._source = SubmissionSource.read(Path(self.job.submission))
        return self._source

    def check_hello(self, hello: dict[str, Any]) -> dict[str, Any]:
        """The agent's hello, with the objects the runners read from it typed."""
        for key in ("confinement", "versions", "device"):
            if not isinstance(hello.get(key, {}), dict):
                raise ReplyRefused(STARTUP, "the hello is malformed", f"{key} is not an object")
        confinement = hello.get("confinement", {})
        if not isinstance(confinement.get("rlimits", {}), dict) or not isinstance(
            confinement.get("network") or "", str
        ):
            raise ReplyRefused(STARTUP, "the hello is malformed", "confinement has the wrong shape")
        if any(not isinstance(value, (str, int, bool)) for value in hello.get("device", {}).values()):
            raise ReplyRefused(STARTUP, "the hello is malformed", "device has the wrong shape")
        self.on_cuda = self.job.device == "cuda" and hello.get("device", {}).get("device") == "cuda"
        return hello

    def accept(
        self, probe: Probe, reply: dict[str, Any], blob: bytes, withheld: bool = False
    ) -> tuple[bool, dict[str, Any], dict[str, Any] | None, dict[str, torch.Tensor], bool]:
        """Check one reply; returns (ok, facts, error, tensors, agent_error) as the host may believe them.

        ``withheld``: the hidden checks have begun, so the error and the type names are put in the host's words.
        """
        self.received += len(blob)
        ok, agent = reply.get("ok"), reply.get("agent", False)
        if not isinstance(ok, bool) or not isinstance(agent, bool):
            raise ReplyRefused(probe.id, "its 'ok' or 'agent' is not true or false")
        if not ok:
            if blob:
                raise ReplyRefused(probe.id, "a failed probe returned tensors")
            error = validate_error(probe, reply.get("error"))
            if withheld:
                error = withheld_error(error, self.source())
            return False, {}, error, {}, agent
        facts = validate_facts(probe, reply.get("facts", {}), self.banned)
        if not self.on_cuda:
            # Only a GPU run has a device allocator to report on; on the CPU the host's own cgroup reading is the
            # memory figure, and a forged device peak would replace it.
            facts.pop("device_peak_mb", None)
            facts.pop("cuda_ms", None)
        tensors = self._tensors(probe, blob)
        if probe.kind == "new":
            for name in probe.params.get("params", []):
                shape = tuple(probe.tensors[f"param/{name}"].shape)
                self.host_params[str(name)] = shape
                self.host_param_bytes += WIDEST_ITEM_BYTES * math.prod(shape) + TENSOR_HEADER_BYTES
        if probe.kind in ("construct", "new") and "parameters" in facts:
            self.parameters[str(probe.params.get("instance"))] = {
                entry["name"]: tuple(entry["shape"]) for entry in facts["parameters"]
            }
        if withheld:
            facts = withheld_facts(facts)
        return True, facts, None, tensors, agent

    def _expected_shape(self, probe: Probe, name: str) -> tuple[bool, tuple[int, ...] | None]:
        """Whether a tensor of this name may answer the probe, and the shape it must have (None: any)."""
        declared = self._declared(probe)
        prefix = {"randomize": "param/", "backward": "grad_param/", "call": "grad_param/"}.get(probe.kind)
        if prefix is not None and name.startswith(prefix):
            shape = declared.get(name.removeprefix(prefix))
            return shape is not None, shape
        if probe.kind == "observe" and name.startswith("param/"):
            known = declared if probe.params.get("instance") is not None else self.host_params
            shape = known.get(name.removeprefix("param/"))
            return shape is not None, shape
        if probe.kind == "call":
            return name == "out" or name.startswith(("out.", "grad/")), None
        allowed = {"forward": ("output", "input_after"), "backward": ("output", "grad_input")}.get(probe.kind, ())
        return name in allowed, None

    def _tensors(self, probe: Probe, blob: bytes) -> dict[str, torch.Tensor]:
        if not blob:
            return {}
        try:
            entries = read_safetensors_header(blob)
        except _Bad as exc:
            raise ReplyRefused(probe.id, "its tensors are malformed or of a refused dtype", str(exc)) from None
        for name, entry in entries.items():
            expected, shape = self._expected_shape(probe, name)
            if not expected:
                raise ReplyRefused(probe.id, "it returned a tensor the probe does not produce", _show(name))
            if shape is not None and entry.shape != shape:
                raise ReplyRefused(
                    probe.id,
                    "a parameter's tensor does not have the parameter's shape",
                    f"{_show(name)}: {list(entry.shape)} instead of {list(shape)}",
                )
        try:
            tensors = safetensors.torch.load(blob)
        except Exception as exc:  # noqa: BLE001 - the library's errors are not one type; any means a bad blob
            raise ReplyRefused(probe.id, "its tensors could not be read", f"{type(exc).__name__}: {exc}") from None
        if set(tensors) != set(entries) or any(t.dtype not in _TORCH_DTYPES for t in tensors.values()):
            raise ReplyRefused(probe.id, "its tensors are not those its header announces")
        return tensors


_TORCH_DTYPES = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})
