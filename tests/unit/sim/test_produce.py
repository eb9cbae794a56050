"""The producer's pacing schedules and how records are keyed (the Kafka loop is integration)."""

from __future__ import annotations

import pytest

from monitor.sim.produce import (
    EventTimePacer,
    RatePacer,
    Record,
    event_time_due_s,
    keyed_by_creator,
    rate_due_s,
)
from schemas.codec import loads

RATE_TABLE: list[tuple[int, float, int, float | None]] = [
    (0, 100.0, 50, None),  # the first record goes at once
    (1, 100.0, 50, None),  # between checks: no wait asked
    (49, 100.0, 50, None),
    (50, 100.0, 50, 0.5),
    (100, 100.0, 50, 1.0),
    (100, 50.0, 50, 2.0),
    (20, 1000.0, 20, 0.02),
    (30, 1000.0, 20, None),
]


@pytest.mark.parametrize(("sent", "rate", "every", "due"), RATE_TABLE)
def test_rate_schedule(sent: int, rate: float, every: int, due: float | None) -> None:
    assert rate_due_s(sent, rate, every) == due


@pytest.mark.parametrize(
    ("at_ms", "speed", "due"),
    [(0, 60.0, 0.0), (60_000, 60.0, 1.0), (3_600_000, 60.0, 60.0), (1_000, 1.0, 1.0)],
)
def test_event_time_schedule(at_ms: int, speed: float, due: float) -> None:
    origin = 1_790_000_000_000
    assert event_time_due_s(origin + at_ms, origin, speed) == pytest.approx(due)


def test_a_record_before_the_origin_is_already_due() -> None:
    assert event_time_due_s(1_000, 2_000, 10.0) < 0


def _record(at_ms: int | None = None) -> Record:
    return Record("social.comments", b"k", b"{}", at_ms)


def test_rate_pacer_counts_from_the_first_record() -> None:
    pacer = RatePacer(100.0, every=50)
    assert pacer.due(0, _record(), now_s=500.0) is None
    assert pacer.due(10, _record(), now_s=501.0) is None
    assert pacer.due(50, _record(), now_s=502.0) == pytest.approx(500.5)


def test_event_time_pacer_sends_the_first_record_at_once_and_follows_event_time() -> None:
    origin = 1_790_000_000_000
    pacer = EventTimePacer(origin, speed=60.0)
    assert pacer.due(0, _record(origin), now_s=10.0) == pytest.approx(10.0)
    # one event-minute later is one second later, whenever it is asked
    assert pacer.due(1, _record(origin + 60_000), now_s=10.2) == pytest.approx(11.0)
    assert pacer.due(2, _record(None), now_s=10.3) is None


def test_records_are_keyed_by_creator_and_carry_the_event() -> None:
    event = {"event_id": "c-1", "creator_id": "tiktok:creator00004", "text": "hi"}
    record = keyed_by_creator("social.comments", event, 123)
    assert record.topic == "social.comments"
    assert record.key == b"tiktok:creator00004"
    assert loads(record.value) == event
    assert record.at_ms == 123
    assert keyed_by_creator("social.comments", event).at_ms is None
