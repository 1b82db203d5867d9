"""Replies are checked on arrival: whatever a hostile agent sends ends as the candidate's crash, never the host's.

A fake agent on a pipe pair answers each request with what the test scripts; ``converse`` runs against it as a
runner would.
"""

from __future__ import annotations

import json
import math
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import safetensors.torch
import torch

from runners import Limits
from runners._protocol import WITHHELD_ENDING, Conversation, converse, name_ending
from runners._replies import MAX_CODE_CHARS, MAX_MESSAGE_CHARS, WITHHELD_MESSAGE, ReplyChecker
from runners.agent.wire import MAGIC, encode_frame, read_frame, write_frame
from runners.base import Job, Probe

SUBMISSION_SOURCE = "import torch\n\n\ndef helper(x):\n    raise ValueError(str(x.shape))\n"
Reply = tuple[dict[str, Any], bytes] | bytes
"""A scripted answer: a header and a blob to frame, or raw bytes to write as they are."""


def _answer(header: dict[str, Any], facts: dict[str, Any] | None = None, *, ok: bool = True,
            error: dict[str, Any] | None = None, tensors: dict[str, torch.Tensor] | None = None,
            blob: bytes | None = None) -> tuple[dict[str, Any], bytes]:
    """A reply to ``header`` that echoes its probe id and nonce, as the agent's would."""
    reply: dict[str, Any] = {"op": "result", "probe_id": header["probe"]["id"], "nonce": header["nonce"], "ok": ok}
    if ok:
        reply["facts"] = facts or {}
    else:
        reply["error"] = error
    if blob is None:
        blob = safetensors.torch.save(tensors) if tensors else b""
    return reply, blob


def _raw_reply(header: dict[str, Any], facts_json: bytes, blob: bytes = b"", blob_len: int | None = None) -> bytes:
    head = (b'{"op":"result","probe_id":' + json.dumps(header["probe"]["id"]).encode() + b',"nonce":"'
            + header["nonce"].encode() + b'","ok":true,"facts":' + facts_json + b"}")
    return MAGIC + struct.pack(">IQ", len(head), len(blob) if blob_len is None else blob_len) + head + blob


def _fake_agent(request_fd: int, response_fd: int, respond: Callable[[dict[str, Any], bytes], Reply],
                seen: list[dict[str, Any]], hello: dict[str, Any] | None = None) -> None:
    try:
        write_frame(response_fd, hello or {"op": "hello", "confinement": {}, "versions": {}, "device": {}})
        while True:
            header, blob = read_frame(request_fd, 1 << 30, time.monotonic() + 10)
            seen.append(header)
            if header.get("op") == "end":
                write_frame(response_fd, {"op": "bye"})
                return
            answer = respond(header, blob)
            os.write(response_fd, answer if isinstance(answer, bytes) else encode_frame(*answer))
    except Exception:  # noqa: BLE001 - the host hung up on a refused reply, or the script ends the agent
        return
    finally:
        # The agent's ends close with it, as a dead sandbox's do: the host then sees the channel close.
        os.close(request_fd)
        os.close(response_fd)


def talk(probes: list[Probe], respond: Callable[[dict[str, Any], bytes], Reply], tmp_path: Path,
         limits: Limits | None = None, hello: dict[str, Any] | None = None,
         withhold: Callable[[], None] | None = None) -> tuple[Conversation, list[dict[str, Any]]]:
    """Converse with a fake agent; returns the conversation and the requests it received."""
    submission = tmp_path / "submission.py"
    submission.write_text(SUBMISSION_SOURCE)
    request_read, request_write = os.pipe()
    response_read, response_write = os.pipe()
    seen: list[dict[str, Any]] = []
    agent = threading.Thread(target=_fake_agent, args=(request_read, response_write, respond, seen, hello),
                             daemon=True)
    agent.start()
    job = Job(submission=submission, probes=probes, limits=limits or Limits(), banned_callables=["torch.banned"])
    try:
        conversation = converse(job, request_write, response_read, lambda budget: time.monotonic() + 5,
                                withhold=withhold)
    finally:
        for fd in (request_write, response_read):
            os.close(fd)
        agent.join(5)
    return conversation, seen


def forward_probe(probe_id: str = "forward:small:first", **options: Any) -> Probe:
    return Probe(probe_id, "forward", {"instance": "small", "input": "x"}, {"x": torch.randn(5, 3, 8)}, **options)


def construct_probe(probe_id: str = "construct:small", **options: Any) -> Probe:
    return Probe(probe_id, "construct", {"instance": "small", "args": [8, 2], "seed": 1}, **options)


def crashed(conversation: Conversation, *words: str) -> str:
    assert conversation.ending is not None, "the conversation should have ended as a crash"
    outcome, reason = conversation.ending
    assert outcome == "crashed", conversation.ending
    for word in words:
        assert word in reason, reason
    return reason


# ---------------------------------------------------------------------------------------------- headers and facts


def test_a_deeply_nested_reply_header_is_the_candidates_crash(tmp_path):
    def respond(header, blob):
        return _raw_reply(header, b'{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}")

    conversation, _ = talk([forward_probe()], respond, tmp_path)
    crashed(conversation, "forward:small:first", "nests")
    assert conversation.in_flight == "forward:small:first"


@pytest.mark.parametrize(("probe", "facts"), [
    (Probe("load", "load", {"class_name": "M"}), "x"),
    (Probe("load", "load", {"class_name": "M"}), {"found": "yes"}),
    (Probe("load", "load", {"class_name": "M"}), {"top_level_names": [1, 2]}),
    (construct_probe(), {"parameters": 5}),
    (construct_probe(), {"parameters": [{"name": "w", "shape": ["8", "8"], "dtype": "float32"}]}),
    (construct_probe(), {"parameters": [{"name": "w", "shape": [-1], "dtype": "float32"}]}),
    (construct_probe(), {"parameters": [{"name": "w", "shape": [10**30], "dtype": "float32"}]}),
    (construct_probe(), {"parameters": [{"name": "w", "shape": [2], "dtype": "float32"}] * 2}),
    (Probe("report", "report"), {"banned_calls": [1, 2]}),
    (Probe("report", "report"), {"banned_calls": {"torch.banned": "many"}}),
    (Probe("randomize:small", "randomize", {"instance": "small", "seed": 1}), {"count": True}),
    (Probe("bench:timed:0", "bench_forward", {"instance": "bench", "seed": 1, "shape": [2]}), {"checksum": "1.0"}),
    (Probe("bench:memory", "bench_forward", {"instance": "bench", "seed": 1, "shape": [2]}),
     {"device_peak_mb": float("nan")}),
    (forward_probe(), {"tuple_length": -3}),
])
def test_facts_of_the_wrong_type_are_the_candidates_crash(tmp_path, probe, facts):
    conversation, _ = talk([probe], lambda header, blob: _answer(header, facts), tmp_path)
    crashed(conversation, probe.id, "refused")


def test_facts_are_typed_capped_and_unknown_ones_dropped(tmp_path):
    probes = [Probe("load", "load", {"class_name": "M"}), Probe("report", "report"),
              Probe("bench:timed:0", "bench_forward", {"instance": "bench", "seed": 1, "shape": [2]})]
    answers = {
        "load": {"found": True, "is_module": True, "top_level_names": ["M", "n" * 300], "injected": {"a": 1}},
        "report": {"banned_calls": {"torch.banned": 2, "os.system": 5}},
        "bench:timed:0": {"checksum": float("nan"), "output_kind": "K" * 500},
    }
    conversation, _ = talk(probes, lambda header, blob: _answer(header, answers[header["probe"]["id"]]), tmp_path)
    assert conversation.ending is None
    results = conversation.probe_results
    assert results["load"].facts == {"found": True, "is_module": True, "top_level_names": ["M", "n" * 200]}
    assert results["report"].facts == {"banned_calls": {"torch.banned": 2}}
    # NaN compares false with any tolerance; infinity differs from every expected checksum.
    assert results["bench:timed:0"].facts["checksum"] == math.inf
    assert len(results["bench:timed:0"].facts["output_kind"]) == 100


def test_a_device_peak_is_believed_only_from_a_gpu_run(tmp_path):
    """On the CPU the memory figure is the host's cgroup reading: a reported device peak would replace it."""
    probe = Probe("bench:memory", "bench_forward", {"instance": "bench", "seed": 1, "shape": [2]})
    facts = {"checksum": 1.0, "device_peak_mb": 0.0, "cuda_ms": 0.1}
    conversation, _ = talk([probe], lambda header, blob: _answer(header, facts), tmp_path)
    assert conversation.probe_results["bench:memory"].facts == {"checksum": 1.0}


def test_a_malformed_hello_is_a_crash_at_startup(tmp_path):
    hello = {"op": "hello", "confinement": {}, "versions": {}, "device": "cuda"}
    conversation, _ = talk([forward_probe()], lambda header, blob: _answer(header), tmp_path, hello=hello)
    crashed(conversation, "hello")
    assert conversation.in_flight == "startup"


def test_a_reply_with_another_nonce_is_refused(tmp_path):
    def respond(header, blob):
        reply, payload = _answer(header)
        reply["nonce"] = "0" * 32
        return reply, payload

    conversation, _ = talk([forward_probe()], respond, tmp_path)
    crashed(conversation, "forward:small:first", "not a reply the agent sent")


# ----------------------------------------------------------------------------------------------------- errors


def test_error_strings_are_capped_and_malformed_errors_refused(tmp_path):
    long_error = {"type": "ValueError", "message": "m" * 100_000,
                  "where": [{"line": 3, "function": "f", "code": "c" * 10_000}] * 50}
    conversation, _ = talk([forward_probe()], lambda header, blob: _answer(header, ok=False, error=long_error),
                           tmp_path)
    assert conversation.ending is None
    error = conversation.probe_results["forward:small:first"].error
    assert error is not None
    assert len(error["message"]) == MAX_MESSAGE_CHARS
    assert len(error["where"]) == 5 and len(error["where"][-1]["code"]) == MAX_CODE_CHARS

    for bad in ("boom", {"type": 3, "message": "x"}, {"message": "x", "where": "line 3"},
                {"message": "x", "where": [{"line": "3"}]}):
        conversation, _ = talk([forward_probe()], lambda header, blob, bad=bad: _answer(header, ok=False, error=bad),
                               tmp_path)
        crashed(conversation, "forward:small:first", "error")


# ---------------------------------------------------------------------------------------------------- tensors


@pytest.mark.parametrize("dtype", [torch.float8_e4m3fn, torch.complex64, torch.int64, torch.bool])
@pytest.mark.parametrize("name", ["output", "input_after"])
def test_tensors_of_a_refused_dtype_are_the_candidates_crash(tmp_path, dtype, name):
    def respond(header, blob):
        return _answer(header, {"output_kind": "Tensor", "output_type": "Tensor"},
                       tensors={name: torch.zeros(5, 3, 8).to(dtype)})

    conversation, _ = talk([forward_probe()], respond, tmp_path)
    crashed(conversation, "forward:small:first", "dtype")


@pytest.mark.parametrize("blob", [
    b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}",
    b"\xff" * 8 + b"{}",
    b"\x02\x00\x00\x00\x00\x00\x00\x00{}" + b"\x00" * 3,
    b"abc",
])
def test_a_malformed_safetensors_blob_is_the_candidates_crash(tmp_path, blob):
    conversation, _ = talk([forward_probe()], lambda header, _: _answer(header, {}, blob=blob), tmp_path)
    crashed(conversation, "forward:small:first", "tensors")


def test_a_tensor_whose_offsets_lie_is_refused_before_it_is_loaded(tmp_path):
    good = safetensors.torch.save({"output": torch.zeros(5, 3, 8)})
    size = int.from_bytes(good[:8], "little")
    header = json.loads(good[8:8 + size])
    header["output"]["shape"] = [5, 3, 9]  # more elements than its data holds
    text = json.dumps(header).encode()
    blob = len(text).to_bytes(8, "little") + text + good[8 + size:]
    conversation, _ = talk([forward_probe()], lambda h, _: _answer(h, {}, blob=blob), tmp_path)
    crashed(conversation, "forward:small:first", "does not match its shape")


def test_only_the_tensors_a_probe_produces_are_accepted(tmp_path):
    parameters = [{"name": "w", "shape": [8, 8], "dtype": "float32"}]
    probes = [construct_probe(), Probe("randomize:small", "randomize", {"instance": "small", "seed": 2})]

    def respond_with(tensors: dict[str, torch.Tensor]) -> Callable[[dict[str, Any], bytes], Reply]:
        def respond(header, blob):
            if header["probe"]["kind"] == "construct":
                return _answer(header, {"parameters": parameters})
            return _answer(header, {"count": 1}, tensors=tensors)

        return respond

    conversation, _ = talk(probes, respond_with({"param/w": torch.zeros(8, 8)}), tmp_path)
    assert conversation.ending is None
    assert conversation.probe_results["randomize:small"].tensors["param/w"].shape == (8, 8)
    conversation, _ = talk(probes, respond_with({"param/w": torch.zeros(8, 9)}), tmp_path)
    crashed(conversation, "randomize:small", "shape")
    conversation, _ = talk(probes, respond_with({"param/v": torch.zeros(8, 8)}), tmp_path)
    crashed(conversation, "randomize:small", "does not produce")
    conversation, _ = talk([forward_probe()], lambda h, _: _answer(h, {}, tensors={"secret": torch.zeros(1)}),
                           tmp_path)
    crashed(conversation, "forward:small:first", "does not produce")


# ------------------------------------------------------------------------------------------------ size budgets


def test_a_padded_blob_is_refused_before_it_is_read(tmp_path):
    """A reply announcing 512 MiB of tensors is refused at once: the host never waits for, or holds, the bytes."""
    started = time.monotonic()
    conversation, _ = talk([forward_probe()], lambda h, _: _raw_reply(h, b"{}", blob_len=512 << 20), tmp_path)
    crashed(conversation, "forward:small:first", "exceeds")
    assert time.monotonic() - started < 3


def test_a_probe_that_returns_no_tensors_may_send_none(tmp_path):
    conversation, _ = talk([construct_probe()],
                           lambda h, _: _answer(h, {"parameters": []}, tensors={"output": torch.zeros(1)}), tmp_path)
    crashed(conversation, "construct:small", "exceeds")


def test_the_runs_replies_share_one_budget(tmp_path):
    """Each reply fits its probe's own budget, but the run's total (``Limits.reply_mb``) is reached."""
    probes = [forward_probe(f"forward:small:{index}") for index in range(4)]
    output = torch.zeros(1 << 19, dtype=torch.float32)  # 2 MiB

    conversation, _ = talk(probes, lambda h, _: _answer(h, {}, tensors={"output": output}), tmp_path,
                           limits=Limits(reply_mb=5))
    crashed(conversation, "forward:small:2", "exceeds")
    assert set(conversation.probe_results) == {"forward:small:0", "forward:small:1"}


def test_the_budget_follows_what_the_probe_was_sent(tmp_path):
    checker = ReplyChecker(Job(submission=tmp_path / "s.py", probes=[]))
    small = checker.legitimate_bytes(forward_probe())
    large = checker.legitimate_bytes(Probe("f", "forward", {"instance": "i", "input": "x"},
                                           {"x": torch.zeros(128, 16, 512)}))
    assert small < 9 << 20 < large < 200 << 20
    assert checker.legitimate_bytes(construct_probe()) == 0


# ------------------------------------------------------------------------------------------- hidden configurations


def test_output_is_withheld_before_the_first_hidden_probe_is_sent(tmp_path):
    events: list[str] = []
    probes = [forward_probe(), forward_probe("forward:odd:first", withhold_output=True),
              forward_probe("forward:odd:again", withhold_output=True), forward_probe("forward:bench")]

    def respond(header, blob):
        events.append(header["probe"]["id"])
        return _answer(header, {"output_kind": "Tensor", "output_type": "Tensor"})

    conversation, _ = talk(probes, respond, tmp_path, withhold=lambda: events.append("withhold"))
    assert conversation.ending is None and conversation.withholding
    # Once, before the first hidden request reached the agent, and never undone.
    assert events == ["forward:small:first", "withhold", "forward:odd:first", "forward:odd:again", "forward:bench"]


def test_withheld_errors_keep_a_standard_type_and_the_hosts_own_line(tmp_path):
    where = [{"line": 5, "function": "leak_20x11", "code": "raise ValueError('torch.Size([11, 3, 20])')"}]
    errors = {
        "forward:small:first": {"type": "ValueError", "message": "torch.Size([5, 3, 8])", "where": where},
        "forward:odd:first": {"type": "ValueError", "message": "torch.Size([11, 3, 20])", "where": where},
        "forward:odd:again": {"type": "Shape_11_3_20", "message": "x", "where": [{"line": 999, "function": "f",
                                                                                   "code": "c"}]},
        "forward:bench": {"type": "RuntimeError", "message": "CUDA out of memory. stored 20", "where": []},
    }
    probes = [forward_probe(), forward_probe("forward:odd:first", withhold_output=True),
              forward_probe("forward:odd:again", withhold_output=True), forward_probe("forward:bench")]
    conversation, _ = talk(probes, lambda h, _: _answer(h, ok=False, error=errors[h["probe"]["id"]]), tmp_path)
    results = conversation.probe_results
    assert results["forward:small:first"].error == errors["forward:small:first"]
    hidden = results["forward:odd:first"].error
    assert hidden == {"type": "ValueError", "message": WITHHELD_MESSAGE,
                      "where": [{"line": 5, "function": "helper", "code": "raise ValueError(str(x.shape))"}]}
    # A class named by the candidate's code is no standard type; line 999 is not in the file.
    assert results["forward:odd:again"].error == {"type": "Exception", "message": WITHHELD_MESSAGE, "where": []}
    # Steps after the hidden ones could repeat what was learnt there: withheld too, an out-of-memory still named.
    later = results["forward:bench"].error
    assert later is not None and "20" not in later["message"] and "out of memory" in later["message"]
    after_hidden = {key: result.error for key, result in results.items() if key != "forward:small:first"}
    assert "20" not in json.dumps(after_hidden)


def test_withheld_type_names_and_refusals_give_no_detail(tmp_path):
    def respond(header, blob):
        if header["probe"]["id"] == "forward:odd:first":
            return _answer(header, {"output_kind": "Kind_11_3_20", "tuple_length": 20, "output_type": "Tensor"})
        return _raw_reply(header, b"{}", blob_len=(11 * 3 * 20) << 20)

    probes = [forward_probe("forward:odd:first", withhold_output=True),
              forward_probe("forward:odd:again", withhold_output=True)]
    conversation, _ = talk(probes, respond, tmp_path)
    assert conversation.probe_results["forward:odd:first"].facts == {"output_kind": "object", "output_type": "Tensor"}
    reason = crashed(conversation, "forward:odd:again", "refused")
    assert str(660 << 20) not in reason and "exceeds" not in reason


def test_a_run_that_ends_after_the_hidden_checks_began_quotes_no_exit_code(tmp_path):
    def respond(header, blob):
        raise OSError("the fake agent exits")  # closes nothing itself: the host sees the channel close

    probes = [forward_probe("forward:odd:first", withhold_output=True)]
    conversation, _ = talk(probes, respond, tmp_path)
    assert conversation.ending is not None
    limits = Limits()
    named = name_ending(limits, conversation.ending, conversation.in_flight, 1.0, oom_killed=False, signum=None,
                        exit_code=20, cpu_s=0.1)
    assert named == ("crashed", WITHHELD_ENDING)
    # Before the hidden checks the exit code is the candidate's to see.
    visible, _ = talk([forward_probe()], respond, tmp_path)
    assert visible.ending is not None
    assert "code 20" in name_ending(limits, visible.ending, visible.in_flight, 1.0, oom_killed=False, signum=None,
                                    exit_code=20, cpu_s=0.1)[1]


def test_a_refusal_outranks_the_kill_that_follows_it(tmp_path):
    conversation, _ = talk([forward_probe()], lambda h, _: _raw_reply(h, b'"x"'), tmp_path)
    assert conversation.ending is not None
    named = name_ending(Limits(), conversation.ending, conversation.in_flight, 1.0, oom_killed=False, signum=9,
                        exit_code=-9, cpu_s=0.1)
    assert named[0] == "crashed" and "refused" in named[1] and "SIGKILL" not in named[1]
