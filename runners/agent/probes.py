"""Execution of probe requests against the candidate's module, inside the sandbox.

Every result is plain data: JSON facts and plain CPU tensors. Nothing here decides whether the candidate is right;
the harness does that in its own process from what comes back.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import torch

from .calls import CallError, CallProbes
from .draws import DrawError

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


def _name_words(name: str) -> list[str]:
    """The lower-case words of a name, split at underscores and at a lower-to-upper case change.

    ``scaled_dot_product_attention`` -> scaled, dot, product, attention; ``MultiheadAttention`` -> multihead, attention.
    """
    marked = "".join(
        "_" + char if char.isupper() and index and name[index - 1].islower() else char
        for index, char in enumerate(name)
    )
    return [word.lower() for word in marked.split("_") if word]


def _kin_word(banned_name: str) -> str:
    """The word naming what a banned callable computes (its longest word, the last on a tie): ``attention``.

    Torch's private kernels behind a banned callable carry it (``torch._scaled_dot_product_attention_math``,
    ``torch._native_multi_head_attention``); the host's static scan uses the same rule.
    """
    words = _name_words(banned_name)
    return max(reversed(words), key=len) if words else banned_name.lower()


def _torch_namespaces() -> list[Any]:
    """Every loaded namespace of torch where a callable can be found by attribute: its modules and tensor classes."""
    found: dict[int, Any] = {}
    for name, module in list(sys.modules.items()):
        if (name == "torch" or name.startswith("torch.")) and isinstance(module, type(sys)):
            found[id(module)] = module
    extra = [
        torch._C,
        getattr(torch._C, "_nn", None),
        torch.Tensor,
        getattr(torch._C, "TensorBase", None),
        getattr(torch._C, "_TensorBase", None),
    ]
    for namespace in extra:
        if namespace is not None:
            found.setdefault(id(namespace), namespace)
    return list(found.values())


def _entries(namespace: Any) -> list[tuple[str, Any]]:
    try:
        return list(vars(namespace).items())
    except TypeError:  # a namespace without a __dict__
        return []


def _unwrapped(value: Any) -> Any:
    """The function a class attribute holds (a staticmethod's or classmethod's function), else the value itself."""
    # type(), not isinstance(): the latter reads __class__, which some of torch's lazy objects answer with a warning.
    return value.__func__ if type(value) in (staticmethod, classmethod) else value


def _closest_banned(name: str, banned_paths: list[str]) -> str | None:
    """The banned path a private torch name is kin of: one whose kin word it holds, sharing most words with it."""
    words = set(_name_words(name))
    candidates = [path for path in banned_paths if _kin_word(path.rsplit(".", 1)[-1]) in name.lower()]
    return max(candidates, key=lambda path: len(words & set(_name_words(path.rsplit(".", 1)[-1]))), default=None)


_KIN_CACHE: dict[tuple[str, ...], list[tuple[Any, str]]] = {}


def prepare_banned(banned_paths: list[str]) -> None:
    """Work out the kin of these banned callables now (in the zygote, before a fork), for the children to inherit.

    Only torch's own namespaces are read, before any candidate code has run in this process or its children.
    """
    resolved = []
    for path in banned_paths:
        try:
            CallCounter._resolve(path)
        except (ImportError, AttributeError):
            continue
        resolved.append(path)
    CallCounter._kin(resolved)


class CallCounter:
    """Replaces banned callables with wrappers that count their calls before delegating.

    Every alias of a banned object in torch's loaded namespaces is replaced (found by identity: ``torch._C._nn`` holds
    the same builtin as ``torch.nn.functional``), as are torch's private kernels of the same kind
    (``torch._scaled_dot_product_attention_math``), counted under the banned name closest to theirs. A banned class
    counts its construction and its forward. The wrappers keep no reference to the original that introspection
    finds by name (no ``__wrapped__``, no closure cell holding it): the originals live in the counter.
    """

    _CLASS_METHODS = ("__init__", "forward", "__setstate__")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._restore: list[tuple[Any, str, Any]] = []
        self._originals: list[Any] = []

    def uninstall(self) -> None:
        """Put the original callables back (only needed when the agent shares a process with trusted code)."""
        for owner, attribute, original in reversed(self._restore):
            setattr(owner, attribute, original)
        self._restore.clear()
        self._originals.clear()

    def install(self, dotted_paths: list[str]) -> None:
        """Wrap each callable that exists in this torch, with its aliases and kin; missing ones are ignored."""
        targets: dict[int, tuple[Any, Callable[..., Any]]] = {}  # id(original) -> (original, its counting wrapper)
        for path in dotted_paths:
            try:
                target = self._resolve(path)
            except (ImportError, AttributeError):
                continue
            self.counts[path] = 0
            if isinstance(target, type):
                self._count_class(path, target)
            elif id(target) not in targets:
                targets[id(target)] = (target, self._wrapper(path, target))
        for kin, path in self._kin(list(self.counts)):
            if id(kin) not in targets:
                targets[id(kin)] = (kin, self._wrapper(path, kin))
        for namespace in _torch_namespaces():
            for attribute, raw in _entries(namespace):
                inner = _unwrapped(raw)
                entry = targets.get(id(inner))
                if entry is None or entry[0] is not inner:
                    continue
                self._replace(namespace, attribute, raw, entry[1] if inner is raw else type(raw)(entry[1]))

    @staticmethod
    def _resolve(path: str) -> Any:
        module_path, _, attribute = path.rpartition(".")
        owner: Any = importlib.import_module(module_path.split(".")[0])
        for part in module_path.split(".")[1:]:
            owner = getattr(owner, part)
        return getattr(owner, attribute)

    @staticmethod
    def _kin(banned_paths: list[str]) -> list[tuple[Any, str]]:
        """Torch's private callables of a banned one's kind (their name holds its kin word), each with its path.

        Remembered per list of paths: the zygote works it out once (:func:`prepare_banned`), before any fork, and
        every child it forks inherits the answer instead of scanning torch's namespaces again (tens of ms each).
        """
        key = tuple(banned_paths)
        if key not in _KIN_CACHE:
            _KIN_CACHE[key] = CallCounter._find_kin(banned_paths)
        return _KIN_CACHE[key]

    @staticmethod
    def _find_kin(banned_paths: list[str]) -> list[tuple[Any, str]]:
        kin: dict[int, tuple[Any, str]] = {}
        for namespace in (torch, getattr(torch._C, "_nn", None), torch.nn.functional):
            for name, value in _entries(namespace) if namespace is not None else []:
                if not name.startswith("_") or isinstance(value, (type, type(sys))) or not callable(value):
                    continue
                path = _closest_banned(name, banned_paths)
                if path is not None:
                    kin.setdefault(id(value), (value, path))
        return list(kin.values())

    def _wrapper(self, path: str, original: Any) -> Callable[..., Any]:
        """A function that counts a call under ``path`` and delegates to ``original``, looked up in the counter."""
        counts, originals, index = self.counts, self._originals, len(self._originals)
        originals.append(original)

        def counting_call(*args: Any, **kwargs: Any) -> Any:
            counts[path] += 1
            return originals[index](*args, **kwargs)

        # Only the descriptive metadata: functools.wraps would also set __wrapped__, handing out the original.
        for attribute in functools.WRAPPER_ASSIGNMENTS:
            if attribute != "__dict__" and isinstance(getattr(original, attribute, None), str):
                setattr(counting_call, attribute, getattr(original, attribute))
        return counting_call

    def _replace(self, owner: Any, attribute: str, raw: Any, replacement: Any) -> None:
        try:
            setattr(owner, attribute, replacement)
        except (AttributeError, TypeError):  # an immutable C type: nothing there to replace
            return
        self._restore.append((owner, attribute, raw))

    def _count_class(self, path: str, target: type) -> None:
        # Construction alone could be skipped (cls.__new__ without __init__), so using the module counts too.
        for attribute in self._CLASS_METHODS:
            raw = vars(target).get(attribute)
            if raw is not None and callable(raw):
                self._replace(target, attribute, raw, self._wrapper(path, raw))


_DROPOUT_FUNCTIONS = ("dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout")


@contextlib.contextmanager
def dropout_switched_off(active: bool) -> Iterator[None]:
    """While active, torch's dropout functions (which nn.Dropout calls) return their input.

    The host asks for this on one call of a module whose output is random in eval mode, to learn whether dropout
    left on is the only cause; what the call returns is still compared with the host's own reference.
    """
    if not active:
        yield
        return
    functional = torch.nn.functional
    saved = [(owner, name, getattr(owner, name)) for owner in (functional, torch) for name in _DROPOUT_FUNCTIONS
             if hasattr(owner, name)]

    def identity(input: Any, *args: Any, **kwargs: Any) -> Any:
        return input

    try:
        for owner, name, _ in saved:
            setattr(owner, name, identity)
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def select_device(requested: str) -> tuple[torch.device, dict[str, Any]]:
    """The device to run on: CUDA when asked for and a GPU is visible, else the CPU; with what to report."""
    if requested == "cuda":
        if torch.cuda.is_available():
            return torch.device("cuda"), {
                "device": "cuda",
                "name": torch.cuda.get_device_name(0),
                "count": torch.cuda.device_count(),
            }
        return torch.device("cpu"), {"device": "cpu", "fallback": "cuda was asked for, but no GPU is visible"}
    return torch.device("cpu"), {"device": "cpu"}


class ProbeExecutor(CallProbes):
    """Holds the loaded submission and its instances; runs one probe at a time."""

    def __init__(self, submission_path: str, banned: list[str], device: str = "cpu") -> None:
        self.device, self.device_facts = select_device(device)
        self.cuda = self.device.type == "cuda"
        # Absolute: tracebacks name the file by its absolute path however it was given.
        self.submission_path = os.path.abspath(submission_path)
        self.counter = CallCounter()
        self.counter.install(banned)
        self.module: Any = None
        self.cls: Any = None
        self.instances: dict[str, Any] = {}
        self.host_params: dict[str, torch.Tensor] = {}
        self.handlers: dict[str, Callable[[dict[str, Any], dict[str, torch.Tensor]], tuple[dict, dict]]] = {
            "load": self.load,
            "construct": self.construct,
            "randomize": self.randomize,
            "forward": self.forward,
            "backward": self.backward,
            "report": self.report,
            "bench_forward": self.bench_forward,
            **self.call_handlers(),
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
        except (ProbeError, CallError, DrawError) as exc:
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
        shape = probe.get("materialize")
        if shape and any(isinstance(p, torch.nn.parameter.UninitializedParameter) for p in instance.parameters()):
            # Lazily shaped layers (nn.LazyLinear) get their shapes from a first forward: make it, on zeros.
            with torch.no_grad():
                instance(torch.zeros([int(size) for size in shape], device=self.device))
        params = [
            {"name": n, "shape": list(p.shape), "dtype": str(p.dtype).removeprefix("torch.")}
            for n, p in instance.named_parameters()
        ]
        return {"parameters": params}, {}

    def randomize(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Overwrite every parameter, in declaration order, with values drawn from the host's seed.

        Nothing is returned but the count: the host regenerates the same values from the seed and the declared
        shapes, and believes only its own.
        """
        instance = self._instance(probe["instance"])
        generator = torch.Generator().manual_seed(int(probe["seed"]))
        count = 0
        with torch.no_grad():
            for _, param in instance.named_parameters():
                param.copy_(random_parameter_values(tuple(param.shape), generator).to(param.dtype))
                count += 1
        return {"count": count}, {}

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
        """Call forward on a copy of the input, without gradients (and, if asked, with dropout switched off)."""
        instance = self._instance(probe["instance"])
        x = tensors[probe["input"]].clone().to(self.device)
        with torch.no_grad(), dropout_switched_off(probe.get("dropout") == "off"):
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
        verify that the timed call really computed the output. Dropout is switched off: the reference has none,
        and a dropout left on in eval mode would make the checksum unverifiable.
        """
        with dropout_switched_off(True):
            return self._bench_forward(probe)

    def _bench_forward(self, probe: dict[str, Any]) -> tuple[dict, dict]:
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

    def _bench_forward_cuda(
        self, instance: torch.nn.Module, x: torch.Tensor, shape: tuple[int, ...], device_memory: bool
    ) -> tuple[dict, dict]:
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
