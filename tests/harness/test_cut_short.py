"""A correct submission whose run is cut short (its probe budget spent at the largest configuration) keeps every
item the configurations it completed verified."""

from __future__ import annotations

import dataclasses

from harness.api import grade
from runners.base import Job, RunResult
from runners.fake import FakeRunner
from tests.support import corpus_file

LAST = "statement_size"


def _cut_at(config: str):
    """A runner that answers every probe before ``config``'s, then times out as a slow submission does."""

    def respond(job: Job) -> RunResult:
        first = next(i for i, probe in enumerate(job.probes) if probe.id.split(":")[1:2] == [config])
        answered = FakeRunner().run(dataclasses.replace(job, probes=job.probes[:first]))
        answered.outcome = "timeout"
        answered.reason = "the probe budget ran out"
        answered.interrupted_probe = job.probes[first].id
        return answered

    return FakeRunner(respond)


def test_a_run_cut_short_at_the_largest_configuration_keeps_from_scratch_and_correctness():
    scorecard = grade(corpus_file("correct_separate_linear_bias"), "mhsa", _cut_at(LAST), seed=5)
    items = {item.id: item for item in scorecard.items}
    assert items["from_scratch"].status == "passed", items["from_scratch"].feedback
    assert "configurations that ran" in items["from_scratch"].feedback
    assert items["interface"].status == "passed"
    assert items["matches_reference"].status in ("passed", "partial")
    assert items["matches_reference"].points > 0
    for structural in ("scaling", "softmax_over_keys", "output_projection"):
        assert items[structural].status == "passed", items[structural].feedback


def test_a_banned_call_in_a_completed_configuration_is_still_seen_when_the_run_is_cut_short():
    scorecard = grade(corpus_file("mistake_builtin_mha"), "mhsa", _cut_at(LAST), seed=5)
    from_scratch = next(item for item in scorecard.items if item.id == "from_scratch")
    assert from_scratch.status == "failed"
