"""Fuzzing the decoder and the batch planner: whatever arrives, nothing escapes, nothing is lost."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.sentiment import compound_scaled
from monitor.ingest.plan import RawRecord, plan_batch
from schemas.events import EventKind, Rejection, decode_event

KINDS: tuple[EventKind, ...] = ("post", "comment", "audience")
TOPIC = {"post": "social.posts", "comment": "social.comments", "audience": "social.audience"}


class NoBrands:
    def match(self, text: str) -> frozenset[str]:
        return frozenset()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
timestamps = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1970-01-01T00:00:00+00:00",
        "2026-02-29T00:00:00Z",
        "2026-11-20T10:00:00.123456789Z",
        "2026-11-20T10:00:00-23:59",
        "2026-11-20T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-20T10:00:00",
        "",
        "now",
    ]
)


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[EventKind, bytes]:
    """Valid-looking events with one field replaced by something hostile."""
    kind = draw(st.sampled_from(KINDS))
    event = {
        "event_id": "e1",
        "platform": "ig",
        "creator_id": "ig:a",
        "post_id": "p",
        "comment_id": "c",
        "text": "hi",
        "created_at": "2026-11-20T10:00:00Z",
        "observed_at": "2026-11-20T10:00:00Z",
        "likes": 1,
        "comments": 1,
        "shares": 1,
        "followers": 5,
    }
    field = draw(st.sampled_from(sorted(event)))
    if draw(st.booleans()):
        # numbers beyond 64 bits cannot be built with orjson: splice them into the JSON text
        huge = draw(
            st.integers(min_value=2**64, max_value=2**200) | st.integers(max_value=-(2**64))
        )
        event[field] = "@HUGE@"
        return kind, orjson.dumps(event).replace(b'"@HUGE@"', str(huge).encode())
    event[field] = draw(json_values | timestamps | st.just("x" * 100_001))
    return kind, orjson.dumps(event)


payloads = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda v: orjson.dumps(v), json_values),
    st.sampled_from(
        [
            _nested(2000),
            b"1" * 400,
            b'{"followers": 1e999}',
            b"\xff\xfe\xfd",
            b'{"a": "\\ud800"}',
            b"x" * 2_000_000,  # > 1 MiB: refused before parsing (10 MB in test_ten_mb_payload)
        ]
    ),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(kind=st.sampled_from(KINDS), payload=payloads)
def test_decoder_never_raises(kind: EventKind, payload: bytes) -> None:
    result = decode_event(kind, payload)
    if isinstance(result, Rejection):
        assert result.code
        assert result.reason.startswith(result.code)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(case=near_valid())
def test_hostile_fields_are_refused_or_accepted_never_raise(case: tuple[EventKind, bytes]) -> None:
    kind, payload = case
    decode_event(kind, payload)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    batch=st.lists(
        st.tuples(st.sampled_from(KINDS), payloads | near_valid().map(lambda c: c[1])), max_size=30
    )
)
def test_every_record_of_a_batch_is_applied_rekeyed_or_dead_lettered(
    batch: list[tuple[EventKind, bytes]],
) -> None:
    records = [
        RawRecord(topic=TOPIC[kind], kind=kind, partition=0, offset=i, key=b"k", value=payload)
        for i, (kind, payload) in enumerate(batch)
    ]
    plan = plan_batch(
        records,
        watermark_ms=0,
        wall_ms=1_795_000_000_000,
        future_tolerance_ms=86_400_000,
        matcher=NoBrands(),
        sentiment=compound_scaled,
    )
    # nothing lost: every offset is either an event for Redis or a dead letter with a reason
    applied = {e["o"] for e in plan.events}
    dead = {d.offset for d in plan.dead_letters}
    assert applied | dead == set(range(len(records)))
    assert not applied & dead
    assert all(d.reason and d.code for d in plan.dead_letters)
    if records:
        assert max(plan.last) == len(records) - 1


def test_ten_mb_payload_is_refused_with_a_reason() -> None:
    result = decode_event("comment", b"{" + b" " * 10_000_000 + b"}")
    assert isinstance(result, Rejection)
    assert result.code == "payload_too_large"
