"""Execution of probe requests against the candidate's module, inside the sandbox.

Every result is plain data: JSON facts and plain CPU tensors. Nothing here decides whether the candidate is right;
the harness does that in its own process from what comes back.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import sys
import traceback
from collections.abc import Callable
from typing import Any

import torch

SUBMISSION_MODULE = "submission"


class ProbeError(Exception):
    """A probe could not run for a reason the agent can describe (e.g. it depends on a failed probe)."""


def describe_exception(exc: BaseException, submission_path: str) -> dict[str, Any]:
    """Summarise an exception for the candidate: type, message, and where it was raised in their own file."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == submission_path:
            frames.append({"line": frame.lineno, "function": frame.name, "code": (frame.line or "").strip()})
    info: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:2000], "where": frames[-5:]}
    if isinstance(exc, SyntaxError):
        info["line"] = exc.lineno
        info["offset"] = exc.offset
        info["code"] = (exc.text or "").rstrip("\n")
    return info


def plain_tensor(value: torch.Tensor) -> torch.Tensor:
    """A detached, contiguous CPU copy that is a plain ``torch.Tensor``, whatever subclass came in."""
    copy = value.detach().to("cpu").clone().contiguous()
    if type(copy) is not torch.Tensor:
        copy = copy.as_subclass(torch.Tensor)
    return copy


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator, dtype=torch.float64) * 2 - 1) * bound


def random_parameter_values(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """Values that make every parameter matter: matrices scaled by fan-in, vectors (biases) clearly non-zero."""
    if len(shape) >= 2:
        fan_in = math.prod(shape[1:])
        return _uniform(shape, math.sqrt(3.0 / max(fan_in, 1)), generator)
    return _uniform(shape, 0.5, generator)


CHECKSUM_SEED = 20261123


def output_checksum(output: torch.Tensor, cache: dict[tuple[int, ...], torch.Tensor] | None = None) -> float:
    """A fixed random projection of the output (the host computes the same on the reference's output)."""
    shape = tuple(output.shape)
    weights = cache.get(shape) if cache is not None else None
    if weights is None:
        weights = torch.randn(shape, generator=torch.Generator().manual_seed(CHECKSUM_SEED))
        if cache is not None:
            cache[shape] = weights
    return float((output.detach().to(torch.float64) * weights.to(torch.float64)).sum())


class CallCounter:
    """Replaces banned callables with wrappers that count their calls before delegating."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._restore: list[tuple[Any, str, Any]] = []

    def uninstall(self) -> None:
        """Put the original callables back (only needed when the agent shares a process with trusted code)."""
        for owner, attribute, original in reversed(self._restore):
            setattr(owner, attribute, original)
        self._restore.clear()

    def install(self, dotted_paths: list[str]) -> None:
        """Wrap each callable that exists in this torch; missing ones are ignored."""
        for path in dotted_paths:
            try:
                self._wrap(path)
            except (ImportError, AttributeError):
                continue

    def _wrap(self, path: str) -> None:
        module_path, _, attribute = path.rpartition(".")
        owner: Any = importlib.import_module(module_path.split(".")[0])
        for part in module_path.split(".")[1:]:
            owner = getattr(owner, part)
        target = getattr(owner, attribute)
        self.counts[path] = 0
        if isinstance(target, type):
            original_init = target.__init__  # type: ignore[misc]
            self._restore.append((target, "__init__", original_init))

            @functools.wraps(original_init)
            def counting_init(obj: Any, *args: Any, **kwargs: Any) -> None:
                self.counts[path] += 1
                original_init(obj, *args, **kwargs)

            target.__init__ = counting_init  # type: ignore[misc]
        else:

            @functools.wraps(target)
            def counting_call(*args: Any, **kwargs: Any) -> Any:
                self.counts[path] += 1
                return target(*args, **kwargs)

            self._restore.append((owner, attribute, target))
            setattr(owner, attribute, counting_call)


def select_device(requested: str) -> tuple[torch.device, dict[str, Any]]:
    """The device to run on: CUDA when asked for and a GPU is visible, else the CPU; with what to report."""
    if requested == "cuda":
        if torch.cuda.is_available():
            return torch.device("cuda"), {"device": "cuda", "name": torch.cuda.get_device_name(0),
                                          "count": torch.cuda.device_count()}
        return torch.device("cpu"), {"device": "cpu", "fallback": "cuda was asked for, but no GPU is visible"}
    return torch.device("cpu"), {"device": "cpu"}


class ProbeExecutor:
    """Holds the loaded submission and its instances; runs one probe at a time."""

    def __init__(self, submission_path: str, banned: list[str], device: str = "cpu") -> None:
        self.device, self.device_facts = select_device(device)
        self.cuda = self.device.type == "cuda"
        self.submission_path = submission_path
        self.counter = CallCounter()
        self.counter.install(banned)
        self.module: Any = None
        self.cls: Any = None
        self.instances: dict[str, torch.nn.Module] = {}
        self.handlers: dict[str, Callable[[dict[str, Any], dict[str, torch.Tensor]], tuple[dict, dict]]] = {
            "load": self.load,
            "construct": self.construct,
            "randomize": self.randomize,
            "forward": self.forward,
            "backward": self.backward,
            "report": self.report,
            "bench_forward": self.bench_forward,
        }
        self._checksum_weights: dict[tuple[int, ...], torch.Tensor] = {}
        self._timing_allocator = False

    def run(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Run one probe; returns (facts, tensors). Raises what the candidate's code raised."""
        handler = self.handlers.get(probe.get("kind", ""))
        if handler is None:
            raise ProbeError(f"unknown probe kind {probe.get('kind')!r}")
        return handler(probe, tensors)

    def answer(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Run one probe and turn whatever happens into a reply header and result tensors."""
        reply: dict[str, Any] = {"op": "result", "probe_id": probe.get("id")}
        try:
            facts, out = self.run(probe, tensors)
            reply.update(ok=True, facts=facts)
            return reply, out
        except ProbeError as exc:
            reply.update(ok=False, error={"type": "ProbeError", "message": str(exc), "where": []}, agent=True)
        except BaseException as exc:  # noqa: B036 - candidate code may raise anything, SystemExit included
            reply.update(ok=False, error=describe_exception(exc, self.submission_path))
        return reply, {}

    def load(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Import the submission and look up the class."""
        spec = importlib.util.spec_from_file_location(SUBMISSION_MODULE, self.submission_path)
        if spec is None or spec.loader is None:
            raise ProbeError("the submission file cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[SUBMISSION_MODULE] = module
        spec.loader.exec_module(module)
        self.module = module
        cls = getattr(module, probe["class_name"], None)
        facts = {
            "found": cls is not None,
            "is_class": isinstance(cls, type),
            "is_module": isinstance(cls, type) and issubclass(cls, torch.nn.Module),
            "top_level_names": sorted(n for n in vars(module) if not n.startswith("_"))[:50],
        }
        if facts["is_module"]:
            self.cls = cls
        return facts, {}

    def _instance(self, name: str) -> torch.nn.Module:
        if name not in self.instances:
            raise ProbeError(f"instance {name!r} was not constructed")
        return self.instances[name]

    def construct(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Construct an instance with the given positional arguments, in eval mode."""
        if self.cls is None:
            raise ProbeError("the class was not loaded")
        torch.manual_seed(int(probe["seed"]))
        instance = self.cls(*probe["args"])
        if not isinstance(instance, torch.nn.Module):
            raise ProbeError("the constructor did not return a torch.nn.Module")
        instance.eval()
        if self.cuda:
            instance.to(self.device)
        self.instances[probe["instance"]] = instance
        params = [
            {"name": n, "shape": list(p.shape), "dtype": str(p.dtype).removeprefix("torch.")}
            for n, p in instance.named_parameters()
        ]
        return {"parameters": params}, {}

    def randomize(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Overwrite every parameter with seeded random values and return them."""
        instance = self._instance(probe["instance"])
        generator = torch.Generator().manual_seed(int(probe["seed"]))
        values = {}
        with torch.no_grad():
            for name, param in instance.named_parameters():
                value = random_parameter_values(tuple(param.shape), generator).to(param.dtype)
                param.copy_(value)
                values[f"param/{name}"] = plain_tensor(param)
        return {"count": len(values)}, values

    def _call(self, instance: torch.nn.Module, x: torch.Tensor) -> tuple[dict, torch.Tensor | None]:
        result = instance(x)
        facts: dict[str, Any] = {"output_kind": type(result).__name__}
        output = result
        if isinstance(result, (tuple, list)):
            facts["output_kind"] = "tuple"
            facts["tuple_length"] = len(result)
            output = result[0] if result else None
        if not isinstance(output, torch.Tensor):
            facts["first_element_kind"] = type(output).__name__
            return facts, None
        facts["output_type"] = type(output).__name__
        return facts, output

    def forward(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Call forward on a copy of the input, without gradients."""
        instance = self._instance(probe["instance"])
        x = tensors[probe["input"]].clone().to(self.device)
        with torch.no_grad():
            facts, output = self._call(instance, x)
        out = {"input_after": plain_tensor(x)}
        if output is not None:
            out["output"] = plain_tensor(output)
        return facts, out

    def backward(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Call forward with gradients, backpropagate the upstream gradient, return all gradients."""
        instance = self._instance(probe["instance"])
        x = tensors[probe["input"]].clone().to(self.device).requires_grad_(True)
        instance.zero_grad(set_to_none=True)
        facts, output = self._call(instance, x)
        out: dict[str, torch.Tensor] = {}
        if output is None:
            return facts, out
        out["output"] = plain_tensor(output)
        upstream = tensors[probe["grad"]].to(output.device)
        if not output.requires_grad:
            facts["no_graph"] = True
            return facts, out
        if tuple(output.shape) != tuple(upstream.shape):
            facts["grad_shape_mismatch"] = True
            return facts, out
        output.backward(upstream)
        if x.grad is not None:
            out["grad_input"] = plain_tensor(x.grad)
        missing = []
        for name, param in instance.named_parameters():
            if param.grad is None:
                missing.append(name)
            else:
                out[f"grad_param/{name}"] = plain_tensor(param.grad)
        facts["params_without_grad"] = missing
        return facts, out

    def bench_forward(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """One forward on a fresh input drawn here from the given seed; only a checksum of the output returns.

        The host times the whole request, so nothing measured here can be forged; the checksum lets the host
        verify that the timed call really computed the output.
        """
        instance = self._instance(probe["instance"])
        if probe.get("timing") and not self._timing_allocator:
            # Timed calls reuse heap memory like any long-running process (the reference is timed that way).
            from .confine import set_mmap_threshold

            self._timing_allocator = set_mmap_threshold(32 * 1024 * 1024)
        shape = tuple(probe["shape"])
        x = torch.randn(shape, generator=torch.Generator().manual_seed(int(probe["seed"]))).to(self.device)
        if self.cuda:
            return self._bench_forward_cuda(instance, x, shape, bool(probe.get("device_memory")))
        with torch.no_grad():
            facts, output = self._call(instance, x)
            if output is not None and tuple(output.shape) == shape:
                facts["checksum"] = output_checksum(output, self._checksum_weights)
        return facts, {}

    def _bench_forward_cuda(self, instance: torch.nn.Module, x: torch.Tensor, shape: tuple[int, ...],
                            device_memory: bool) -> tuple[dict, dict]:
        """The GPU variant of a benchmark call, synchronised so that the host's round trip covers the device's work.

        The CUDA-event time and the allocator's peak are reported as facts; the candidate's own process could forge
        them, so the host keeps its own clock as the measure of record.
        """
        torch.cuda.synchronize()
        if device_memory:
            torch.cuda.reset_peak_memory_stats()
        allocated = torch.cuda.memory_allocated()
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        with torch.no_grad():
            start.record()
            facts, output = self._call(instance, x)
            end.record()
            torch.cuda.synchronize()
            facts["cuda_ms"] = start.elapsed_time(end)
            if device_memory:
                facts["device_peak_mb"] = round((torch.cuda.max_memory_allocated() - allocated) / (1 << 20), 2)
            if output is not None and tuple(output.shape) == shape:
                facts["checksum"] = output_checksum(output.to("cpu"), self._checksum_weights)
        return facts, {}

    def report(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Report how often each banned callable was called."""
        return {"banned_calls": dict(self.counter.counts)}, {}
