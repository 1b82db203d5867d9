"""The generic probes (entry, new, call, set_grads, observe): the agent's side, and what the host accepts."""

from __future__ import annotations

import pytest
import safetensors.torch
import torch

from runners._replies import ReplyChecker, ReplyRefused
from runners.agent.probes import ProbeExecutor
from runners.base import Job, Probe

SOURCE = """
import torch

def pair(x, scale=1.0):
    return x * scale, int(x.numel())

class Box:
    def __init__(self, params, lr=0.5):
        self.params, self.lr = list(params), lr
    def step(self):
        with torch.no_grad():
            for p in self.params:
                if p.grad is not None:
                    p -= self.lr * p.grad
"""


@pytest.fixture
def executor(tmp_path):
    path = tmp_path / "submission.py"
    path.write_text(SOURCE)
    agent = ProbeExecutor(str(path), [])
    reply, _ = agent.answer({"id": "load", "kind": "load", "class_name": "pair"}, {})
    assert reply["ok"]
    yield agent
    agent.counter.uninstall()


def test_a_call_describes_a_tuple_and_returns_its_tensors_and_gradients(executor):
    probe = {"id": "c", "kind": "call", "target": {"function": "pair"}, "args": [{"t": "x"}],
             "kwargs": {"scale": {"v": 3.0}}, "grad": {"wrt": ["0"], "upstream": "u"}}
    reply, out = executor.answer(probe, {"x": torch.ones(2, 3), "u": torch.full((2, 3), 2.0)})
    assert reply["ok"], reply
    output = reply["facts"]["output"]
    assert output["kind"] == "tuple" and output["items"][1] == {"kind": "value", "value": 6}
    assert torch.equal(out["out.0"], torch.full((2, 3), 3.0))
    assert torch.equal(out["grad/0"], torch.full((2, 3), 6.0))


def test_an_object_gets_the_hosts_parameters_and_its_steps_are_observed(executor):
    probe = {"id": "n", "kind": "new", "instance": "b", "class": "Box", "args": [{"plist": ["w"]}],
             "kwargs": {"lr": {"v": 0.25}}, "params": ["w"], "seed": 1}
    assert executor.answer(probe, {"param/w": torch.ones(3)})[0]["ok"]
    assert executor.answer({"id": "g", "kind": "set_grads", "grads": {"w": "g"}}, {"g": torch.full((3,), 2.0)})[0]["ok"]
    assert executor.answer({"id": "s", "kind": "call", "target": {"instance": "b", "method": "step"}}, {})[0]["ok"]
    reply, out = executor.answer({"id": "o", "kind": "observe"}, {})
    assert torch.allclose(out["param/w"], torch.full((3,), 0.5)) and reply["facts"]["grad_none"] == {"w": False}


def _reply(probe: Probe, facts: dict, tensors: dict[str, torch.Tensor]) -> tuple[dict, bytes]:
    return {"ok": True, "facts": facts}, safetensors.torch.save(tensors) if tensors else b""


def test_the_host_refuses_a_call_reply_with_a_tensor_the_call_cannot_produce(tmp_path):
    probe = Probe("c", "call", {"target": {"function": "f"}, "args": [{"t": "x"}]}, {"x": torch.zeros(4)})
    checker = ReplyChecker(Job(submission=tmp_path / "s.py", probes=[probe]))
    header, blob = _reply(probe, {"output": {"kind": "tensor", "name": "out", "dtype": "float32", "shape": [4]}},
                          {"out": torch.zeros(4)})
    ok, facts, _, tensors, _ = checker.accept(probe, header, blob)
    assert ok and set(tensors) == {"out"} and facts["output"]["shape"] == [4]
    header, blob = _reply(probe, {}, {"param/secret": torch.zeros(4)})
    with pytest.raises(ReplyRefused, match="does not produce"):
        checker.accept(probe, header, blob)


def test_the_host_refuses_a_description_nested_too_deep_or_too_wide(tmp_path):
    probe = Probe("c", "call", {"target": {"function": "f"}})
    checker = ReplyChecker(Job(submission=tmp_path / "s.py", probes=[probe]))
    deep: dict = {"kind": "value", "value": 1}
    for _ in range(6):
        deep = {"kind": "tuple", "length": 1, "items": [deep]}
    with pytest.raises(ReplyRefused):
        checker.accept(probe, {"ok": True, "facts": {"output": deep}}, b"")
    wide = {"kind": "tuple", "length": 100, "items": [{"kind": "value", "value": 1}] * 100}
    with pytest.raises(ReplyRefused):
        checker.accept(probe, {"ok": True, "facts": {"output": wide}}, b"")
    odd = {"kind": "value", "value": {"a": 1}}
    with pytest.raises(ReplyRefused):
        checker.accept(probe, {"ok": True, "facts": {"output": odd}}, b"")


def test_an_observed_parameter_must_have_the_shape_the_host_handed_over(tmp_path):
    new = Probe("n", "new", {"instance": "b", "params": ["w"]}, {"param/w": torch.zeros(3)})
    observe = Probe("o", "observe", {})
    checker = ReplyChecker(Job(submission=tmp_path / "s.py", probes=[new, observe]))
    checker.accept(new, {"ok": True, "facts": {"type": "Box"}}, b"")
    assert checker.accept(observe, *_reply(observe, {}, {"param/w": torch.zeros(3)}))[0]
    with pytest.raises(ReplyRefused, match="shape"):
        checker.accept(observe, *_reply(observe, {}, {"param/w": torch.zeros(4)}))
