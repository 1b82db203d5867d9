"""The generic probes: construct any class, call any function or method with typed arguments, drive state.

A problem pack's plan speaks only these: ``entry`` (look up a top-level name), ``new`` (construct), ``call`` (a
function, a module or a method, with arguments that are the host's tensors, JSON values, tensors drawn here from
a seed, or host-declared parameters whose identity lives for the run), ``set_grads`` and ``observe`` (the
parameters an optimizer updates). Replies are plain data: a JSON description of the returned value and plain CPU
copies of its tensors.
"""

from __future__ import annotations

import inspect
import math
import random
from typing import Any

import torch

from .draws import draw_tensor

MAX_DESCRIBED_ITEMS = 8
MAX_DESCRIBED_DEPTH = 3


class CallError(Exception):
    """A request that names something the run does not hold (an argument, a parameter, an instance)."""


def _plain(value: torch.Tensor) -> torch.Tensor:
    copy = value.detach().to("cpu").clone().contiguous()
    if type(copy) is not torch.Tensor:
        copy = copy.as_subclass(torch.Tensor)
    if not copy.is_floating_point():
        copy = copy.to(torch.float64)  # replies carry floats only; the dtype is said in the description
    return copy


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)


def describe_value(value: Any, out: dict[str, torch.Tensor], name: str = "out", depth: int = 0) -> dict[str, Any]:
    """A bounded JSON description of ``value``; its tensors are put in ``out`` under the names it gives."""
    if isinstance(value, torch.Tensor):
        out[name] = _plain(value)
        return {"kind": "tensor", "name": name, "dtype": str(value.dtype).removeprefix("torch."),
                "shape": list(value.shape), "requires_grad": bool(value.requires_grad)}
    if value is None or type(value) in (bool, int, str):
        return {"kind": "value", "value": value if type(value) is not str else value[:200]}
    if type(value) is float:
        return {"kind": "value", "value": _json_number(value)}
    if type(value) in (tuple, list) and depth < MAX_DESCRIBED_DEPTH:
        items = [describe_value(item, out, f"{name}.{index}", depth + 1)
                 for index, item in enumerate(list(value)[:MAX_DESCRIBED_ITEMS])]
        return {"kind": "tuple", "length": len(value), "items": items}
    return {"kind": "other", "type": type(value).__name__[:100]}


def first_tensor(value: Any) -> torch.Tensor | None:
    """The value itself when a tensor, else the first element of a tuple or list when that is one."""
    if isinstance(value, torch.Tensor):
        return value
    if type(value) in (tuple, list) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    return None


class CallProbes:
    """The generic probe handlers, mixed into the agent's probe executor."""

    device: torch.device
    module: Any
    instances: dict[str, Any]
    host_params: dict[str, torch.Tensor]
    _checksum_weights: dict[tuple[int, ...], torch.Tensor]
    _timing_allocator: bool

    def call_handlers(self) -> dict[str, Any]:
        """The handlers by probe kind."""
        return {"entry": self.entry, "new": self.new, "call": self.call, "set_grads": self.set_grads,
                "observe": self.observe}

    def entry(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Describe a top-level name of the loaded submission: its kind and signature."""
        if self.module is None:
            raise CallError("the submission was not loaded")
        value = vars(self.module).get(str(probe["name"]))
        facts: dict[str, Any] = {
            "found": value is not None,
            "is_class": isinstance(value, type),
            "is_module": isinstance(value, type) and issubclass(value, torch.nn.Module),
            "is_callable": callable(value),
        }
        try:
            facts["signature"] = str(inspect.signature(value))[:500]
        except (TypeError, ValueError):
            pass
        for method in probe.get("methods", []):
            facts.setdefault("methods", {})[str(method)] = callable(getattr(value, str(method), None))
        return facts, {}

    def _argument(self, spec: Any, tensors: dict[str, torch.Tensor]) -> Any:
        if not isinstance(spec, dict) or len(spec) != 1:
            raise CallError(f"malformed argument {spec!r}")
        (kind, body), = spec.items()
        if kind == "t":
            if body not in tensors:
                raise CallError(f"no tensor {body!r} was sent")
            return tensors[body].clone().to(self.device)
        if kind == "v":
            return body
        if kind == "tuple":
            return tuple(self._argument(item, tensors) for item in body)
        if kind == "d":
            return draw_tensor(body).to(self.device)
        if kind == "plist":
            missing = [name for name in body if name not in self.host_params]
            if missing:
                raise CallError(f"no parameters {missing}")
            return [self.host_params[name] for name in body]
        raise CallError(f"unknown argument kind {kind!r}")

    def _arguments(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[list, dict]:
        args = [self._argument(spec, tensors) for spec in probe.get("args", [])]
        kwargs = {str(key): self._argument(spec, tensors) for key, spec in probe.get("kwargs", {}).items()}
        return args, kwargs

    def new(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Make the host's parameters, then construct the entry class with the given arguments."""
        if self.module is None:
            raise CallError("the submission was not loaded")
        for name in probe.get("params", []):
            self.host_params[name] = torch.nn.Parameter(tensors[f"param/{name}"].clone().to(self.device))
        cls = vars(self.module).get(str(probe["class"]))
        if not isinstance(cls, type):
            raise CallError(f"{probe['class']} is not a class")
        args, kwargs = self._arguments(probe, tensors)
        torch.manual_seed(int(probe.get("seed", 0)))
        instance = cls(*args, **kwargs)
        facts: dict[str, Any] = {"type": type(instance).__name__[:100]}
        if isinstance(instance, torch.nn.Module):
            instance.eval()
            if self.device.type == "cuda":
                instance.to(self.device)
            facts["parameters"] = [
                {"name": n, "shape": list(p.shape), "dtype": str(p.dtype).removeprefix("torch.")}
                for n, p in instance.named_parameters()
            ]
        self.instances[str(probe["instance"])] = instance
        return facts, {}

    def _target(self, probe: dict[str, Any]) -> Any:
        target = probe.get("target", {})
        if "function" in target:
            function = vars(self.module).get(str(target["function"])) if self.module is not None else None
            if function is None or not callable(function):
                raise CallError(f"no function {target['function']!r}")
            return function
        name = str(target.get("instance"))
        if name not in self.instances:
            raise CallError(f"instance {name!r} was not constructed")
        instance = self.instances[name]
        method = target.get("method")
        return instance if method is None else getattr(instance, str(method))

    @staticmethod
    def _reseed(seed: int) -> None:
        torch.manual_seed(seed)
        random.seed(seed)
        numpy = __import__("sys").modules.get("numpy")
        if numpy is not None:
            numpy.random.seed(seed % (1 << 32))

    def call(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Call a function, a module or a method; optionally backpropagate; return the described result."""
        if probe.get("checksum") and not self._timing_allocator:
            # Timed calls reuse heap memory like any long-running process (the reference is timed that way).
            from .confine import set_mmap_threshold

            self._timing_allocator = set_mmap_threshold(32 * 1024 * 1024)
        function = self._target(probe)
        instance = self.instances.get(str(probe.get("target", {}).get("instance")))
        mode = probe.get("mode")
        if isinstance(instance, torch.nn.Module) and mode in ("train", "eval"):
            instance.train(mode == "train")
        args, kwargs = self._arguments(probe, tensors)
        grad = probe.get("grad")
        wrt: dict[str, torch.Tensor] = {}
        if grad:
            for key in grad.get("wrt", []):
                value = args[int(key)] if str(key).isdigit() else kwargs.get(str(key))
                if isinstance(value, torch.Tensor) and value.is_floating_point():
                    wrt[str(key)] = value.requires_grad_(True)
            if isinstance(instance, torch.nn.Module):
                instance.zero_grad(set_to_none=True)
        if probe.get("seed") is not None:
            self._reseed(int(probe["seed"]))
        if grad:
            result = function(*args, **kwargs)
        else:
            with torch.no_grad():
                result = function(*args, **kwargs)
        out: dict[str, torch.Tensor] = {}
        if probe.get("checksum"):
            from .probes import output_checksum

            tensor = first_tensor(result)
            facts: dict[str, Any] = {}
            if tensor is not None:
                facts["checksum"] = output_checksum(tensor.to("cpu"), self._checksum_weights)
            return facts, {}
        facts = {"output": describe_value(result, out)}
        if grad:
            facts.update(self._backward(result, tensors.get(str(grad.get("upstream"))), wrt, instance, out))
        return facts, out

    def _backward(self, result: Any, upstream: torch.Tensor | None, wrt: dict[str, torch.Tensor], instance: Any,
                  out: dict[str, torch.Tensor]) -> dict[str, Any]:
        output = first_tensor(result)
        if output is None or upstream is None:
            return {"grad_problem": "no tensor output"}
        if not output.requires_grad:
            return {"grad_problem": "no_graph"}
        if tuple(output.shape) != tuple(upstream.shape):
            if output.numel() != upstream.numel():
                return {"grad_problem": "shape"}
            upstream = upstream.reshape(output.shape)  # a (1,) for a scalar: its own item judges the shape
        output.backward(upstream.to(output.device).to(output.dtype))
        for key, value in wrt.items():
            if value.grad is not None:
                out[f"grad/{key}"] = _plain(value.grad)
        missing = []
        if isinstance(instance, torch.nn.Module):
            for name, param in instance.named_parameters():
                if param.grad is None:
                    missing.append(name)
                else:
                    out[f"grad_param/{name}"] = _plain(param.grad)
        return {"params_without_grad": missing}

    def set_grads(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """Give each host parameter the gradient the host sent for it, or None."""
        for name, tensor_name in probe.get("grads", {}).items():
            if name not in self.host_params:
                raise CallError(f"no parameter {name!r}")
            param = self.host_params[name]
            param.grad = None if tensor_name is None else tensors[tensor_name].clone().to(param.device)
        return {}, {}

    def observe(self, probe: dict[str, Any], tensors: dict[str, torch.Tensor]) -> tuple[dict, dict]:
        """The host parameters' values and which have no gradient; or an instance's own parameters."""
        if probe.get("instance") is not None:
            instance = self.instances.get(str(probe["instance"]))
            if not isinstance(instance, torch.nn.Module):
                raise CallError(f"instance {probe['instance']!r} is not a module")
            return {}, {f"param/{name}": _plain(param) for name, param in instance.named_parameters()}
        out = {f"param/{name}": _plain(param) for name, param in self.host_params.items()}
        return {"grad_none": {name: param.grad is None for name, param in self.host_params.items()}}, out
