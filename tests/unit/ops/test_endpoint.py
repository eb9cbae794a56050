"""The process side: stall clocks behind /healthz, Slack result classes, batch metrics."""

from __future__ import annotations

import pytest

from monitor.notify.slack import Answer
from monitor.ops.endpoint import Health
from monitor.ops.metrics import Metrics
from monitor.ops.slack import result_of
from monitor.settings import Settings


def test_health_is_stalled_only_after_stall_s_without_progress() -> None:
    health = Health(Settings(stall_s=10.0))
    health.observe({"p:0": 5, "p:1": 9}, {"p:0": 3, "p:1": 0}, now_ms=0)
    assert health.verdict(9_000).word == "ok"
    health.observe({"p:0": 5, "p:1": 9}, {"p:0": 4, "p:1": 0}, now_ms=9_000)
    stalled = health.verdict(10_000)
    assert (stalled.word, stalled.reason) == (
        "stalled",
        "p:0: 4 records waiting, no progress for 10s",
    )
    health.observe({"p:0": 6, "p:1": 9}, {"p:0": 3, "p:1": 0}, now_ms=11_000)  # it moved
    assert health.verdict(12_000).word == "ok"


def test_health_forgets_partitions_no_longer_owned() -> None:
    health = Health(Settings(stall_s=1.0))
    health.observe({"p:0": 5}, {"p:0": 3}, now_ms=0)
    health.observe({}, {}, now_ms=5_000)
    assert health.verdict(9_000).word == "ok"


@pytest.mark.parametrize(
    ("answer", "result"),
    [
        (Answer(status=200, body="ok"), "ok"),
        (Answer(status=429, retry_after_s=1.0), "rate_limited"),
        (Answer(status=400, body="invalid_payload"), "client_error"),
        (Answer(status=404, body="no_service"), "client_error"),
        (Answer(status=503), "server_error"),
        (Answer(status=None, error="timeout"), "no_answer"),
    ],
)
def test_slack_result_classes(answer: Answer, result: str) -> None:
    assert result_of(answer) == result


def test_batch_counts_outcomes_and_dead_letter_codes() -> None:
    m = Metrics()
    m.batch(
        records=5, plan_s=0.001, apply_s=0.002, applied=2, duplicates=1, late=0,
        dead_codes=["bad_json", "bad_json"],
    )  # fmt: skip
    text = m.exposition().decode()
    assert 'monitor_records_total{outcome="applied"} 2.0' in text
    assert 'monitor_records_total{outcome="duplicate"} 1.0' in text
    assert 'monitor_records_total{outcome="deadlettered"} 2.0' in text
    assert 'outcome="late"' not in text
    assert 'monitor_process_deadletters_total{code="bad_json"} 2.0' in text
    assert "monitor_batch_records_count 1.0" in text
