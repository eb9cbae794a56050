"""The input decoder: every rejection code, RFC 3339 parsing, and dead-letter payload handling."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.events import (
    FIELDS,
    MAX_COUNT,
    MAX_PAYLOAD_BYTES,
    MAX_TEXT_CHARS,
    Comment,
    EventKind,
    FollowerSnapshot,
    PostSnapshot,
    Rejection,
    decode_event,
    format_time_ms,
    parse_time_ms,
)
from schemas.records import DEADLETTER_KEY_MAX, DEADLETTER_MAX_BYTES, DeadLetter

KINDS: tuple[EventKind, ...] = get_args(EventKind)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
T0_MS = 1_795_168_800_000

POST: dict[str, Any] = {
    "event_id": "ig-p-8812-1",
    "platform": "instagram",
    "post_id": "8812",
    "creator_id": "instagram:alice",
    "created_at": "2026-11-20T10:00:00Z",
    "observed_at": "2026-11-20T11:00:00Z",
    "likes": 120,
    "comments": 14,
    "shares": 3,
}
COMMENT: dict[str, Any] = {
    "event_id": "ig-c-99120",
    "platform": "instagram",
    "comment_id": "99120",
    "post_id": "8812",
    "creator_id": "instagram:alice",
    "text": "love these, ordering now!",
    "created_at": "2026-11-20T10:05:00Z",
}
AUDIENCE: dict[str, Any] = {
    "event_id": "ig-a-alice-1",
    "platform": "instagram",
    "creator_id": "instagram:alice",
    "followers": 15400,
    "observed_at": "2026-11-20T10:00:00Z",
}
BASE: dict[EventKind, dict[str, Any]] = {"post": POST, "comment": COMMENT, "audience": AUDIENCE}


def raw(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def changed(kind: EventKind, **changes: Any) -> bytes:
    return raw({**BASE[kind], **changes})


def dropped(kind: EventKind, name: str) -> bytes:
    return raw({k: v for k, v in BASE[kind].items() if k != name})


def exact_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


def test_base_events_decode() -> None:
    post = decode_event("post", raw(POST))
    assert post == PostSnapshot(
        event_id="ig-p-8812-1",
        platform="instagram",
        creator_id="instagram:alice",
        post_id="8812",
        created_ms=T0_MS,
        observed_ms=T0_MS + 3_600_000,
        likes=120,
        comments=14,
        shares=3,
    )
    assert post.time_ms == T0_MS + 3_600_000
    comment = decode_event("comment", raw(COMMENT))
    assert isinstance(comment, Comment)
    assert (comment.time_ms, comment.text, comment.author_id) == (
        T0_MS + 300_000,
        "love these, ordering now!",
        None,
    )
    audience = decode_event("audience", raw(AUDIENCE))
    assert audience == FollowerSnapshot(
        event_id="ig-a-alice-1",
        platform="instagram",
        creator_id="instagram:alice",
        followers=15400,
        observed_ms=T0_MS,
    )


# --- every rejection code ----------------------------------------------------------------------

REJECTIONS: list[tuple[str, EventKind, bytes | None, str]] = [
    ("no value", "post", None, "empty_payload"),
    ("over 1 MiB", "comment", b" " * MAX_PAYLOAD_BYTES + b"{}", "payload_too_large"),
    (
        "over 1 MiB of valid event",
        "comment",
        changed("comment", text="x" * 90_000, pad="y" * MAX_PAYLOAD_BYTES),
        "payload_too_large",
    ),
    ("empty bytes", "post", b"", "empty_payload"),
    ("whitespace only", "post", b"  \n", "invalid_json"),
    ("truncated object", "post", raw(POST)[:-1], "invalid_json"),
    ("single quotes", "audience", b"{'event_id': 'x'}", "invalid_json"),
    ("trailing comma", "audience", b'{"event_id": "x",}', "invalid_json"),
    ("NaN literal", "audience", b"NaN", "invalid_json"),
    ("plain words", "audience", b"hello world", "invalid_json"),
    ("lone 0xff", "post", b"\xff", "invalid_utf8"),
    (
        "latin-1 inside a string",
        "comment",
        raw(COMMENT).replace(b"love", b"l\xf6ve"),
        "invalid_utf8",
    ),
    ("UTF-16 with BOM", "audience", raw(AUDIENCE).decode().encode("utf-16"), "invalid_utf8"),
    ("array", "post", b"[]", "not_an_object"),
    ("array of the event", "post", raw([POST]), "not_an_object"),
    ("number", "post", b"42", "not_an_object"),
    ("string", "post", b'"hello"', "not_an_object"),
    ("null", "post", b"null", "not_an_object"),
    ("required field null", "audience", changed("audience", followers=None), "missing_field"),
    ("bool for a count", "audience", changed("audience", followers=True), "wrong_type"),
    ("false for a count", "post", changed("post", likes=False), "wrong_type"),
    ("float for a count", "post", changed("post", likes=1.5), "wrong_type"),
    ("integral float for a count", "post", changed("post", likes=120.0), "wrong_type"),
    (
        "exponent for a count",
        "post",
        raw(POST).replace(b'"likes": 120', b'"likes": 1e3'),
        "wrong_type",
    ),
    ("string for a count", "post", changed("post", shares="3"), "wrong_type"),
    ("count beyond 64 bits", "post", changed("post", shares=2**64), "wrong_type"),
    ("number for an id", "comment", changed("comment", comment_id=99120), "wrong_type"),
    ("object for text", "comment", changed("comment", text={"t": 1}), "wrong_type"),
    ("number for a time", "audience", changed("audience", observed_at=T0_MS), "wrong_type"),
    ("bool for a tag", "audience", changed("audience", community=True), "wrong_type"),
    ("negative count", "post", changed("post", comments=-1), "negative_count"),
    ("negative optional count", "post", changed("post", views=-10), "negative_count"),
    ("negative followers", "audience", changed("audience", followers=-1), "negative_count"),
    ("count 2**63", "post", changed("post", likes=MAX_COUNT + 1), "out_of_range"),
    (
        "zone-less",
        "audience",
        changed("audience", observed_at="2026-11-20T10:00:00"),
        "bad_timestamp",
    ),
    ("date only", "post", changed("post", created_at="2026-11-20"), "bad_timestamp"),
    ("garbage time", "comment", changed("comment", created_at="yesterday"), "bad_timestamp"),
    ("empty time", "comment", changed("comment", created_at=""), "bad_timestamp"),
    (
        "offset without colon",
        "audience",
        changed("audience", observed_at="2026-11-20T10:00:00+0200"),
        "bad_timestamp",
    ),
    (
        "no seconds",
        "audience",
        changed("audience", observed_at="2026-11-20T10:00Z"),
        "bad_timestamp",
    ),
    (
        "basic format",
        "audience",
        changed("audience", observed_at="20261120T100000Z"),
        "bad_timestamp",
    ),
    (
        "month 13",
        "audience",
        changed("audience", observed_at="2026-13-20T10:00:00Z"),
        "bad_timestamp",
    ),
    (
        "epoch as a string",
        "audience",
        changed("audience", observed_at="1795168800"),
        "bad_timestamp",
    ),
    (
        "text 100,001 chars",
        "comment",
        changed("comment", text="x" * (MAX_TEXT_CHARS + 1)),
        "text_too_long",
    ),
    (
        "caption 100,001 multi-byte chars",
        "post",
        changed("post", text="ü" * (MAX_TEXT_CHARS + 1)),
        "text_too_long",
    ),
    ("empty event_id", "post", changed("post", event_id=""), "bad_value"),
    ("empty creator_id", "audience", changed("audience", creator_id=""), "bad_value"),
    ("empty optional author_id", "comment", changed("comment", author_id=""), "bad_value"),
    ("id of 257 chars", "comment", changed("comment", post_id="p" * 257), "bad_value"),
    ("empty community", "audience", changed("audience", community=""), "bad_value"),
    ("community of 129 chars", "post", changed("post", community="g" * 129), "bad_value"),
]


@pytest.mark.parametrize(
    ("kind", "payload", "code"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS]
)
def test_rejection_codes(kind: EventKind, payload: bytes | None, code: str) -> None:
    got = decode_event(kind, payload)
    assert isinstance(got, Rejection)
    assert got.code == code
    assert got.reason.startswith(code)


def test_every_rejection_code_is_covered() -> None:
    codes = {r[3] for r in REJECTIONS}
    assert codes == {
        "empty_payload",
        "payload_too_large",
        "invalid_json",
        "invalid_utf8",
        "not_an_object",
        "missing_field",
        "wrong_type",
        "negative_count",
        "out_of_range",
        "bad_timestamp",
        "text_too_long",
        "bad_value",
    }


@pytest.mark.parametrize(
    ("kind", "name"),
    [(kind, spec.name) for kind in KINDS for spec in FIELDS[kind] if spec.required],
)
def test_each_required_field_missing(kind: EventKind, name: str) -> None:
    assert decode_event(kind, dropped(kind, name)) == Rejection("missing_field", name)


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("comment", changed("comment", text="x" * MAX_TEXT_CHARS)),
        ("comment", changed("comment", text="😀" * MAX_TEXT_CHARS)),
        ("comment", changed("comment", text="")),
        ("post", changed("post", text="ü" * MAX_TEXT_CHARS)),
        ("post", changed("post", likes=0, comments=0, shares=0, views=0, followers=0)),
        ("post", changed("post", likes=MAX_COUNT, comments=0, shares=0)),
        ("audience", changed("audience", creator_id="c" * 256, community="g" * 128)),
        ("audience", changed("audience", unknown="extra", nested={"a": [1, 2]})),
        ("audience", changed("audience", community=None)),  # optional null: treated as absent
        ("audience", b" " * (MAX_PAYLOAD_BYTES - len(raw(AUDIENCE))) + raw(AUDIENCE)),
    ],
    ids=[
        "text 100,000",
        "text 100,000 astral",
        "empty comment text",
        "caption 100,000",
        "zero counts",
        "max count",
        "longest id and tag",
        "unknown fields",
        "null optional",
        "exactly 1 MiB",
    ],
)
def test_accepted_edges(kind: EventKind, payload: bytes) -> None:
    got = decode_event(kind, payload)
    assert not isinstance(got, Rejection), got


def test_decoded_text_is_exact() -> None:
    text = "naïve café 😀 \u200b\n\ttab"
    got = decode_event("comment", changed("comment", text=text))
    assert isinstance(got, Comment)
    assert got.text == text


def test_post_with_followers_and_optional_fields() -> None:
    got = decode_event(
        "post", changed("post", views=4000, followers=15400, community="vegan", text="hi")
    )
    assert isinstance(got, PostSnapshot)
    assert (got.views, got.followers, got.community, got.text, got.interactions) == (
        4000,
        15400,
        "vegan",
        "hi",
        137,
    )


# --- RFC 3339 ----------------------------------------------------------------------------------

PARSE_CASES: list[Any] = [
    ("2026-11-20T10:00:00Z", T0_MS),
    ("2026-11-20T10:00:00z", T0_MS),
    ("2026-11-20t10:00:00Z", T0_MS),
    ("2026-11-20 10:00:00Z", T0_MS),
    ("2026-11-20T10:00:00+00:00", T0_MS),
    ("2026-11-20T10:00:00-00:00", T0_MS),
    ("2026-11-20T12:00:00+02:00", T0_MS),
    ("2026-11-20T04:30:00-05:30", T0_MS),
    ("2026-11-21T09:59:00+23:59", T0_MS),
    ("2026-11-20T10:00:00+02:00", T0_MS - 2 * 3_600_000),
    ("2026-11-20T10:00:00.5Z", T0_MS + 500),
    ("2026-11-20T10:00:00.1Z", T0_MS + 100),
    ("2026-11-20T10:00:00.001Z", T0_MS + 1),
    ("2026-11-20T10:00:00.123Z", T0_MS + 123),
    ("2026-11-20T12:00:00.250+02:00", T0_MS + 250),
    ("2026-11-20T10:00:00.123456Z", T0_MS + 123),  # sub-millisecond digits are truncated
    ("2026-11-20T10:00:00.999999999Z", T0_MS + 999),  # nanoseconds: truncated, not rounded up
    ("2026-11-20T10:00:00.0005Z", T0_MS),
    ("1970-01-01T00:00:00Z", 0),
    ("1970-01-01T01:00:00+01:00", 0),
    ("1969-12-31T23:59:59Z", -1000),
    ("1969-12-31T23:59:59.999Z", -1),
    ("2000-02-29T00:00:00.010Z", 951_782_400_010),
    ("2038-01-19T03:14:08.001Z", 2_147_483_648_001),
    ("2004-02-11T05:43:12.432Z", 1_076_478_192_432),  # float arithmetic used to lose 1 ms
    ("1974-05-02T09:03:59.781Z", 136_717_439_781),
]


@pytest.mark.parametrize(("text", "ms"), PARSE_CASES)
def test_parse_time_ms(text: str, ms: int) -> None:
    assert parse_time_ms(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20T10:00:00",
        "2026-11-20",
        "2026-11-20T10:00Z",
        "10:00:00Z",
        "2026-11-20T10:00:00+02",
        "2026-11-20T10:00:00+0200",
        "2026-11-20T10:00:00 Z",
        "2026-11-20T10:00:00.Z",
        "2026-11-20T10:00:00.1234567890Z",
        "2026-11-20T10:00:00Z\n",
        " 2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00UTC",
        "2026-11-20T10:00:00+02:00[Europe/Paris]",
        "2026-02-30T10:00:00Z",
        "2026-11-20T24:00:00Z",
        "2026-11-20T10:60:00Z",
        "2016-12-31T23:59:60Z",
        "2026-11-20T10:00:00+24:00",
        "0000-01-01T00:00:00Z",
        "٢٠٢٦-١١-٢٠T10:00:00Z",
        "",
        "garbage",
    ],
)
def test_parse_time_ms_refuses(text: str) -> None:
    assert parse_time_ms(text) is None


SEPARATORS = st.sampled_from("Tt ")
OFFSETS = st.integers(-(23 * 60 + 59), 23 * 60 + 59)


def rfc3339(dt: datetime, sep: str, frac: str, offset_min: int, zulu: str) -> str:
    """Format ``dt`` (naive, local to the offset) as RFC 3339 text."""
    if offset_min == 0 and zulu:
        zone = zulu
    else:
        sign = "-" if offset_min < 0 else "+"
        zone = f"{sign}{abs(offset_min) // 60:02d}:{abs(offset_min) % 60:02d}"
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}{sep}"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}{frac}{zone}"
    )


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(
    dt=st.datetimes(),
    sep=SEPARATORS,
    offset=OFFSETS,
    zulu=st.sampled_from(["", "Z", "z"]),
)
def test_property_whole_seconds_with_any_offset(
    dt: datetime, sep: str, offset: int, zulu: str
) -> None:
    text = rfc3339(dt, sep, "", offset, zulu)
    aware = dt.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=offset)))
    assert parse_time_ms(text) == exact_ms(aware)


@example(ms=1_076_478_192_432, extra="", offset=0)
@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(
    ms=st.integers(exact_ms(datetime(1900, 1, 1, tzinfo=UTC)), exact_ms(T0) * 2),
    extra=st.text(alphabet="0123456789", max_size=6),
    offset=OFFSETS,
)
def test_property_fractions_are_truncated_to_exact_milliseconds(
    ms: int, extra: str, offset: int
) -> None:
    tz = timezone(timedelta(minutes=offset))
    local = (EPOCH + timedelta(milliseconds=ms)).astimezone(tz).replace(tzinfo=None)
    text = rfc3339(local, "T", f".{ms % 1000:03d}{extra}", offset, "")
    assert parse_time_ms(text) == ms


def test_format_time_ms_pads_the_year() -> None:
    assert format_time_ms(-30_610_224_000_001) == "0999-12-31T23:59:59.999Z"


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(ms=st.integers(exact_ms(datetime(1000, 1, 1, tzinfo=UTC)), exact_ms(T0) * 2))
def test_property_format_time_ms(ms: int) -> None:
    dt = EPOCH + timedelta(milliseconds=ms)
    whole = (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}"
    )
    want = f"{whole}.{ms % 1000:03d}Z" if ms % 1000 else f"{whole}Z"
    assert format_time_ms(ms) == want


# --- never raises ------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**80), 2**80),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
FIELD_NAMES = sorted({spec.name for kind in KINDS for spec in FIELDS[kind]})
EVENTISH = st.dictionaries(
    st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=8)),
    st.one_of(
        JSON_VALUES,
        st.text(alphabet="0123456789-:.TZz+ ", max_size=35),
        st.integers(-(2**64), 2**64),
    ),
    max_size=16,
)


def assert_event_or_rejection(kind: EventKind, payload: bytes | None) -> None:
    got = decode_event(kind, payload)
    assert isinstance(got, (Rejection, PostSnapshot, Comment, FollowerSnapshot))
    if isinstance(got, Rejection):
        assert got.code
    else:
        assert got.event_id
        assert got.creator_id


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(payload=st.binary(max_size=300))
def test_property_arbitrary_bytes_never_raise(kind: EventKind, payload: bytes) -> None:
    assert_event_or_rejection(kind, payload)


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(value=JSON_VALUES)
def test_property_arbitrary_json_never_raises(kind: EventKind, value: Any) -> None:
    assert_event_or_rejection(kind, raw(value))


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=300, deadline=None)
@given(obj=EVENTISH, base=st.booleans())
def test_property_event_shaped_json_never_raises(
    kind: EventKind, obj: dict[str, Any], base: bool
) -> None:
    # On top of a valid event most examples reach the per-field checks.
    assert_event_or_rejection(kind, raw({**BASE[kind], **obj} if base else obj))


@pytest.mark.parametrize("kind", KINDS)
@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(cut=st.integers(0, 400), flip=st.integers(0, 255))
def test_property_corrupted_valid_payloads_never_raise(
    kind: EventKind, cut: int, flip: int
) -> None:
    payload = bytearray(raw(BASE[kind]))
    pos = cut % len(payload)
    payload[pos] ^= flip
    assert_event_or_rejection(kind, bytes(payload[: cut or None]))


# --- dead letters ------------------------------------------------------------------------------


def build(
    payload: bytes | None,
    key: bytes | None = b"instagram:alice",
    *,
    max_bytes: int = DEADLETTER_MAX_BYTES,
) -> DeadLetter:
    return DeadLetter.build(
        reason="invalid_json: oops",
        code="invalid_json",
        topic="t.social.posts",
        partition=3,
        offset=42,
        key=key,
        payload=payload,
        at="2026-11-20T10:00:00Z",
        max_bytes=max_bytes,
    )


def test_dead_letter_keeps_utf8_text() -> None:
    payload = '{"text": "café 😀", broken'.encode()
    d = build(payload)
    assert (d.payload, d.encoding, d.truncated, d.payload_bytes) == (
        payload.decode(),
        "utf-8",
        False,
        len(payload),
    )
    out = orjson.loads(d.to_json())
    assert {k: out[k] for k in ("reason", "topic", "partition", "offset", "key", "payload")} == {
        "reason": "invalid_json: oops",
        "topic": "t.social.posts",
        "partition": 3,
        "offset": 42,
        "key": "instagram:alice",
        "payload": payload.decode(),
    }
    assert out["at"] == "2026-11-20T10:00:00Z"
    assert out["code"] == "invalid_json"


@pytest.mark.parametrize("payload", [b"\xff\xfe\x00binary", bytes(range(256)), b"ok\xc3"])
def test_dead_letter_base64_for_binary(payload: bytes) -> None:
    d = build(payload)
    assert d.encoding == "base64"
    assert base64.b64decode(d.payload) == payload
    assert (d.truncated, d.payload_bytes) == (False, len(payload))
    assert orjson.loads(d.to_json())["encoding"] == "base64"


def test_dead_letter_without_value_or_key() -> None:
    d = build(None, key=None)
    assert (d.payload, d.encoding, d.payload_bytes, d.truncated, d.key) == (
        "",
        "utf-8",
        0,
        False,
        None,
    )


def encoded(d: DeadLetter) -> int:
    """What the dead letter costs Kafka: its key and its JSON value."""
    return len(d.record_key() or b"") + len(d.to_json())


def test_dead_letter_that_fits_once_encoded_is_kept_whole() -> None:
    payload = b"a" * 400_000  # six times this would not fit: only the measured size counts
    d = build(payload)
    assert (d.truncated, d.payload) == (False, payload.decode())
    assert encoded(d) <= DEADLETTER_MAX_BYTES


def test_dead_letter_truncates_huge_text() -> None:
    payload = b"a" * (DEADLETTER_MAX_BYTES + 1) + b"tail"
    d = build(payload)
    assert d.truncated is True
    assert d.encoding == "utf-8"
    assert payload.startswith(d.payload.encode())
    assert len(d.payload) > DEADLETTER_MAX_BYTES - 1000  # cut to what fits, not far below
    assert d.payload_bytes == len(payload)
    assert encoded(d) <= DEADLETTER_MAX_BYTES


def test_dead_letter_of_control_characters_fits_after_escaping() -> None:
    payload = b"\x01" * 200_000  # each becomes \u0001: six bytes in JSON
    d = build(payload)
    assert (d.truncated, d.encoding, d.payload_bytes) == (True, "utf-8", 200_000)
    assert encoded(d) <= DEADLETTER_MAX_BYTES
    assert orjson.loads(d.to_json())["payload"] == "\x01" * len(d.payload)


def test_dead_letter_cuts_a_huge_key_and_says_so() -> None:
    key = b"k" * 900_000
    d = build(b"[]", key=key)
    assert d.record_key() == key[:DEADLETTER_KEY_MAX]
    assert (d.key_truncated, d.key_bytes, d.truncated, d.payload) == (True, 900_000, False, "[]")
    assert encoded(d) <= DEADLETTER_MAX_BYTES


def test_dead_letter_truncates_huge_binary() -> None:
    payload = b"\xff" * (2 * MAX_PAYLOAD_BYTES)
    d = build(payload)
    assert (d.truncated, d.encoding, d.payload_bytes) == (True, "base64", len(payload))
    assert payload.startswith(base64.b64decode(d.payload))
    assert encoded(d) <= DEADLETTER_MAX_BYTES


def test_dead_letter_truncates_multibyte_text_at_a_character_boundary() -> None:
    payload = "€".encode() * 300_000  # 900,000 bytes
    d = build(payload)
    assert d.truncated is True
    assert d.encoding == "utf-8"
    assert set(d.payload) == {"€"}
    assert encoded(d) <= DEADLETTER_MAX_BYTES


def test_dead_letter_cut_to_a_smaller_bound_keeps_the_original_sizes() -> None:
    d = build(b"\x01" * 200_000, key=b"k" * 10_000).cut(10_000)
    assert encoded(d) <= 10_000
    assert (d.truncated, d.payload_bytes, d.key_bytes, d.key_truncated) == (
        True,
        200_000,
        10_000,
        True,
    )


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(payload=st.binary(max_size=200))
def test_property_dead_letter_payload_round_trips(payload: bytes) -> None:
    d = build(payload)
    back = base64.b64decode(d.payload) if d.encoding == "base64" else d.payload.encode()
    assert back == payload
    assert orjson.loads(d.to_json())["payload"] == d.payload
