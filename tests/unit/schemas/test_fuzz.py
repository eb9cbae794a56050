"""Fuzzing the decoder, the planner, dead letters and key names: whatever arrives, nothing escapes.

Nothing is lost, no dead letter outgrows its bound, no accepted count is one Lua cannot hold
exactly, and no id reaches another id's Redis keys.
"""

from __future__ import annotations

import base64

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.core.sentiment import compound_scaled
from monitor.ingest.plan import RawRecord, plan_batch
from monitor.store.keys import Keys, key_part
from schemas.events import MAX_COUNT, EventKind, PostSnapshot, Rejection, decode_event
from schemas.records import DEADLETTER_MAX_BYTES
from tests.unit.schemas.test_events import build

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


# --- encoded sizes ------------------------------------------------------------------------------

# bytes that JSON escapes to six (controls), multi-byte text, invalid UTF-8 (base64), plain ASCII
_HOSTILE_BYTES = st.sampled_from([b"\x01", b"\x1f", b'"', b"\\", "€".encode(), b"\xff", b"a"])


@st.composite
def big_bytes(draw: st.DrawFn, max_repeat: int) -> bytes:
    """Up to a few MB made of a handful of hostile runs (fast to draw, hard to encode)."""
    runs = draw(st.lists(st.tuples(_HOSTILE_BYTES, st.integers(0, max_repeat)), max_size=3))
    return b"".join(chunk * n for chunk, n in runs)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    payload=st.none() | big_bytes(600_000),
    key=st.none() | big_bytes(400_000),
    max_bytes=st.sampled_from([DEADLETTER_MAX_BYTES, 100_000, 4096]),
)
def test_a_dead_letter_always_fits_its_bound(
    payload: bytes | None, key: bytes | None, max_bytes: int
) -> None:
    d = build(payload, key, max_bytes=max_bytes)
    assert len(d.record_key() or b"") + len(d.to_json()) <= max_bytes
    kept = base64.b64decode(d.payload) if d.encoding == "base64" else d.payload.encode()
    assert (payload or b"").startswith(kept)  # a prefix, never altered
    assert d.truncated == (len(kept) < len(payload or b""))
    assert (d.payload_bytes, d.key_bytes) == (len(payload or b""), len(key or b""))


# --- integer ranges -----------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    value=st.integers(-(2**70), 2**70)
    | st.sampled_from([MAX_COUNT, MAX_COUNT + 1, 2**63 - 1, 2**63, 2**62])
)
def test_an_accepted_count_survives_lua_doubles_exactly(value: int) -> None:
    event = {
        "event_id": "e",
        "platform": "ig",
        "creator_id": "ig:a",
        "observed_at": "2026-11-20T10:00:00Z",
    }
    # orjson writes at most 64-bit integers: splice the number into the JSON text
    raw = orjson.dumps({**event, "followers": "@N@"}).replace(b'"@N@"', str(value).encode())
    got = decode_event("audience", raw)
    if 0 <= value <= MAX_COUNT:
        assert not isinstance(got, Rejection)
        assert int(float(value)) == value  # what Lua's numbers and %d give back
    elif -(2**63) <= value < 2**64:
        assert isinstance(got, Rejection)
        assert got.code == ("negative_count" if value < 0 else "out_of_range")
    else:  # beyond 64 bits orjson reads a float
        assert isinstance(got, Rejection)
        assert got.code == "wrong_type"


@settings(max_examples=300, deadline=None)
@given(counts=st.lists(st.integers(0, MAX_COUNT), min_size=3, max_size=3))
def test_a_post_whose_interactions_overflow_is_out_of_range(counts: list[int]) -> None:
    likes, comments, shares = counts
    event = {
        "event_id": "e",
        "platform": "ig",
        "creator_id": "ig:a",
        "post_id": "p",
        "created_at": "2026-11-20T10:00:00Z",
        "observed_at": "2026-11-20T10:00:00Z",
        "likes": likes,
        "comments": comments,
        "shares": shares,
    }
    got = decode_event("post", orjson.dumps(event))
    if sum(counts) <= MAX_COUNT:
        assert isinstance(got, PostSnapshot)
        assert int(float(got.interactions)) == got.interactions
    else:
        assert isinstance(got, Rejection)
        assert got.code == "out_of_range"


# --- key-building -------------------------------------------------------------------------------

_ID_CHARS = st.sampled_from(["a", ":", "{", "}", "%", "7", "D", "é", "😀", "ps", "meta"])
ids = st.lists(_ID_CHARS, min_size=1, max_size=8).map("".join)
_SUFFIXES = (":meta", ":doc", ":fs", ":posts", ":pct", ":pobs", ":h:5", ":dd:5")


def _tag(key: str) -> str:
    """What Redis Cluster hashes: between the first ``{`` and the first ``}`` after it."""
    start = key.index("{") + 1
    return key[start : key.index("}", start)]


@settings(max_examples=500, deadline=None)
@given(a=ids, b=ids, post_a=ids, post_b=ids)
def test_no_id_reaches_another_ids_keys(a: str, b: str, post_a: str, post_b: str) -> None:
    k = Keys("ns.sm:")
    names_a = {k.creator(a) + s for s in _SUFFIXES} | {f"{k.creator(a)}:ps:{post_a}"}
    names_b = {k.creator(b) + s for s in _SUFFIXES} | {f"{k.creator(b)}:ps:{post_b}"}
    if a != b:
        assert not names_a & names_b
        assert k.community(a) != k.community(b)
        assert k.brand(a) != k.brand(b)
    elif post_a != post_b:
        assert f"{k.creator(a)}:ps:{post_a}" != f"{k.creator(b)}:ps:{post_b}"
    # one creator, one slot: every key of a creator hashes on its (escaped) id alone
    assert {_tag(n) for n in names_a} == {key_part(a)}
    assert "}" not in key_part(a)


@given(a=ids)
def test_plain_ids_keep_their_key_names(a: str) -> None:
    plain = a.replace("{", "").replace("}", "").replace("%", "") or "x"
    assert Keys("p:").creator(plain) == "p:c:{" + plain + "}"
