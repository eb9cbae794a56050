"""``plan_batch``: raw records in, table ops, dead letters and re-keys out (pure, no I/O)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from monitor.ingest.plan import EVIDENCE_CHARS, BatchPlan, RawRecord, Rekey, plan_batch
from schemas.events import EventKind, format_time_ms
from schemas.records import MAX_WRITE_BYTES

T0 = 1_795_168_800_000  # 2026-11-20T10:00:00Z
DAY = 86_400_000
TOLERANCE = DAY
POSTS, COMMENTS, AUDIENCE = "ns.social.posts", "ns.social.comments", "ns.social.audience"
TOPIC_KIND: dict[str, EventKind] = {POSTS: "post", COMMENTS: "comment", AUDIENCE: "audience"}


class FakeMatcher:
    """Matches a brand when its name appears in the text; remembers what it was asked."""

    def __init__(self, *brands: str) -> None:
        self.brands = brands
        self.seen: list[str] = []

    def match(self, text: str) -> frozenset[str]:
        self.seen.append(text)
        return frozenset(b for b in self.brands if b in text.lower())


def fake_sentiment(text: str) -> int:
    return -700 if "hate" in text else 600 if "love" in text else 0


def at(ms: int) -> str:
    return format_time_ms(ms)


def post(**kw: Any) -> dict[str, Any]:
    return {
        "event_id": "p-1",
        "platform": "instagram",
        "post_id": "8812",
        "creator_id": "instagram:alice",
        "created_at": at(T0 - 3_600_000),
        "observed_at": at(T0),
        "likes": 120,
        "comments": 14,
        "shares": 3,
        **kw,
    }


def comment(**kw: Any) -> dict[str, Any]:
    return {
        "event_id": "c-1",
        "platform": "instagram",
        "comment_id": "99120",
        "post_id": "8812",
        "creator_id": "instagram:alice",
        "text": "love these",
        "created_at": at(T0),
        **kw,
    }


def audience(**kw: Any) -> dict[str, Any]:
    return {
        "event_id": "a-1",
        "platform": "instagram",
        "creator_id": "instagram:alice",
        "followers": 15400,
        "observed_at": at(T0),
        **kw,
    }


def rec(
    topic: str,
    value: dict[str, Any] | bytes | None,
    *,
    partition: int = 0,
    offset: int = 0,
    key: bytes | None = b"instagram:alice",
) -> RawRecord:
    raw = json.dumps(value).encode() if isinstance(value, dict) else value
    return RawRecord(topic, TOPIC_KIND[topic], partition, offset, key, raw)


def plan(
    records: Iterable[RawRecord],
    *,
    watermark_ms: int = T0,
    wall_ms: int = T0,
    matcher: FakeMatcher | None = None,
) -> BatchPlan:
    return plan_batch(
        records,
        watermark_ms=watermark_ms,
        wall_ms=wall_ms,
        future_tolerance_ms=TOLERANCE,
        matcher=matcher or FakeMatcher(),
        sentiment=fake_sentiment,
    )


# --- table ops ---------------------------------------------------------------------------------


def test_ops_for_each_kind() -> None:
    p = plan(
        [
            rec(POSTS, post(followers=15400, community="vegan", text="hi"), offset=7),
            rec(COMMENTS, comment(community="vegan"), partition=2, offset=3),
            rec(AUDIENCE, audience(), partition=1, offset=9),
        ]
    )
    assert p.events == [
        {
            "k": "p",
            "i": 1,
            "o": 7,
            "id": "p-1",
            "cr": "instagram:alice",
            "pl": "instagram",
            "t": T0,
            "g": "vegan",
            "post": "8812",
            "ct": T0 - 3_600_000,
            "tot": 137,
            "f": 15400,
        },
        {
            "k": "c",
            "i": 2,
            "o": 3,
            "id": "c-1",
            "cr": "instagram:alice",
            "pl": "instagram",
            "t": T0,
            "g": "vegan",
            "s": 600,
            "cid": "99120",
            "post": "8812",
        },
        {
            "k": "a",
            "i": 3,
            "o": 9,
            "id": "a-1",
            "cr": "instagram:alice",
            "pl": "instagram",
            "t": T0,
            "f": 15400,
        },
    ]
    assert p.tps == [f"{POSTS}:0", f"{COMMENTS}:2", f"{AUDIENCE}:1"]
    assert p.last == [7, 3, 9]
    assert (p.dead_letters, p.rekeyed, p.dead_index) == ([], [], [])
    assert p.request() == {"tps": p.tps, "last": p.last, "events": p.events, "dead": []}


def test_post_without_followers_or_community_has_no_such_fields() -> None:
    (op,) = plan([rec(POSTS, post())]).events
    assert "f" not in op
    assert "g" not in op
    assert "b" not in op


def test_sentiment_is_scored_for_comments_only() -> None:
    p = plan(
        [
            rec(COMMENTS, comment(text="I hate it"), offset=0),
            rec(COMMENTS, comment(event_id="c-2", text="meh"), offset=1),
            rec(POSTS, post(text="love love love"), offset=2),
        ]
    )
    assert [op.get("s") for op in p.events] == [-700, 0, None]


# --- mentions ----------------------------------------------------------------------------------


def test_mentions_from_comments_and_post_captions() -> None:
    matcher = FakeMatcher("acme", "zenith")
    long_text = "zenith and acme " + "x" * 1000
    p = plan(
        [
            rec(COMMENTS, comment(text="love my Acme shoes"), offset=0),
            rec(POSTS, post(text=long_text), offset=1),
            rec(COMMENTS, comment(event_id="c-3", text="nothing here"), offset=2),
            rec(AUDIENCE, audience(), offset=3),
        ],
        matcher=matcher,
    )
    c, po, plain, _ = p.events
    assert (c["b"], c["x"]) == (["acme"], "love my Acme shoes")
    assert po["b"] == ["acme", "zenith"]  # sorted
    assert po["x"] == long_text[:EVIDENCE_CHARS]
    assert "b" not in plain
    assert "x" not in plain
    # the matcher sees every text once, and never an audience snapshot
    assert matcher.seen == ["love my Acme shoes", long_text, "nothing here"]


def test_post_without_caption_is_not_matched() -> None:
    matcher = FakeMatcher("acme")
    plan([rec(POSTS, post()), rec(POSTS, post(event_id="p-2", text=""), offset=1)], matcher=matcher)
    assert matcher.seen == []


# --- dead letters ------------------------------------------------------------------------------

BAD: list[tuple[str, str, bytes | None, str]] = [
    ("bad json", COMMENTS, b"{nope", "invalid_json"),
    ("no value", POSTS, None, "empty_payload"),
    ("binary", AUDIENCE, b"\xff\xfe\x00", "invalid_utf8"),
    ("missing field", POSTS, json.dumps({"event_id": "x"}).encode(), "missing_field"),
    ("negative", AUDIENCE, json.dumps(audience(followers=-1)).encode(), "negative_count"),
    (
        "zone-less",
        COMMENTS,
        json.dumps(comment(created_at="2026-11-20T10:00:00")).encode(),
        "bad_timestamp",
    ),
]


@pytest.mark.parametrize(("topic", "value", "code"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_dead_letter_carries_the_source_record(topic: str, value: bytes | None, code: str) -> None:
    r = RawRecord(topic, TOPIC_KIND[topic], 3, 1234, b"instagram:alice", value)
    p = plan([r])
    assert p.events == []
    (d,) = p.dead_letters
    assert (d.topic, d.partition, d.offset, d.key, d.code) == (
        topic,
        3,
        1234,
        "instagram:alice",
        code,
    )
    assert d.reason.startswith(code)
    if value is None:
        assert d.payload == ""
    elif d.encoding == "utf-8":
        assert d.payload.encode() == value
    else:
        assert code == "invalid_utf8"
        assert d.encoding == "base64"
    assert d.at == format_time_ms(T0)
    assert p.dead_index == [{"i": 1, "o": 1234, "code": code}]
    assert (p.tps, p.last) == ([f"{topic}:3"], [1234])


def test_dead_letter_keeps_an_empty_or_missing_key() -> None:
    p = plan([rec(COMMENTS, b"{", key=None), rec(COMMENTS, b"{", key=b"", offset=1)])
    assert [d.key for d in p.dead_letters] == [None, ""]
    assert p.rekeyed == []  # an invalid record is dead-lettered, not re-keyed


# --- future timestamps -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("watermark", "wall", "t", "future"),
    [
        # relative to the watermark (the wall clock is behind it, e.g. a replay of the future)
        (T0, T0 - 30 * DAY, T0 + TOLERANCE, False),
        (T0, T0 - 30 * DAY, T0 + TOLERANCE + 1, True),
        (T0, T0 - 30 * DAY, T0 + 365 * DAY, True),
        # relative to the wall clock when nothing has been seen yet
        (0, T0, T0 + TOLERANCE, False),
        (0, T0, T0 + TOLERANCE + 1, True),
        (0, T0, T0 + 2 * DAY, True),
        # whichever is later: a replay far behind the wall clock is not "future"
        (T0 - 30 * DAY, T0, T0 - 30 * DAY + 2 * DAY, False),
        (T0 - 30 * DAY, T0, T0 + TOLERANCE + 1, True),
        # the past is never future
        (T0, T0, 0, False),
    ],
)
def test_future_timestamps(watermark: int, wall: int, t: int, future: bool) -> None:
    records = [
        rec(COMMENTS, comment(created_at=at(t)), offset=0),
        rec(AUDIENCE, audience(observed_at=at(t)), offset=1),
        rec(POSTS, post(observed_at=at(t), created_at=at(min(t, T0 - DAY))), offset=2),
    ]
    p = plan(records, watermark_ms=watermark, wall_ms=wall)
    if future:
        assert p.events == []
        assert [d.code for d in p.dead_letters] == ["future_timestamp"] * 3
        assert [d.offset for d in p.dead_letters] == [0, 1, 2]
    else:
        assert len(p.events) == 3
        assert p.dead_letters == []


def test_post_created_in_the_future_is_dead_lettered() -> None:
    p = plan([rec(POSTS, post(created_at=at(T0 + 2 * DAY), observed_at=at(T0 + 2 * DAY)))])
    assert [d.code for d in p.dead_letters] == ["future_timestamp"]
    assert p.events == []


def test_post_created_after_it_was_observed_is_dead_lettered() -> None:
    p = plan([rec(POSTS, post(created_at=at(T0 + 1000), observed_at=at(T0)))])
    assert [d.reason for d in p.dead_letters] == ["bad_timestamp: created_at is after observed_at"]


def test_unkeyed_record_too_large_to_rekey_is_a_dead_letter() -> None:
    value = json.dumps(comment(text="x" * 60_000, pad="y" * MAX_WRITE_BYTES)).encode()
    p = plan([RawRecord(COMMENTS, "comment", 2, 40, None, value)])
    assert (p.rekeyed, p.events) == ([], [])
    assert [d.code for d in p.dead_letters] == ["payload_too_large"]
    assert p.dead_index == [{"i": 1, "o": 40, "code": "payload_too_large"}]


# --- re-keying ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, b""], ids=["null key", "empty key"])
def test_unkeyed_record_is_rekeyed_not_applied(key: bytes | None) -> None:
    value = json.dumps(comment(creator_id="tiktok:bob")).encode()
    p = plan([RawRecord(COMMENTS, "comment", 2, 40, key, value)])
    assert p.events == []
    assert p.dead_letters == []
    assert p.rekeyed == [
        Rekey(COMMENTS, b"tiktok:bob", value, 2, 40)
    ]  # same bytes, keyed by creator
    assert (p.tps, p.last) == ([f"{COMMENTS}:2"], [40])  # its offset still counts as done


# --- tps / last --------------------------------------------------------------------------------


def test_tps_and_last_cover_every_record() -> None:
    p = plan(
        [
            rec(COMMENTS, comment(), partition=0, offset=10),
            rec(COMMENTS, b"{", partition=1, offset=5),  # only dead letters on this partition
            rec(COMMENTS, comment(event_id="c-2"), partition=0, offset=12),
            rec(AUDIENCE, audience(), partition=0, offset=3, key=None),  # only a re-key here
            rec(COMMENTS, comment(event_id="c-0"), partition=0, offset=11),  # out of order
            rec(COMMENTS, b"{", partition=1, offset=4),
            rec(
                POSTS,
                post(created_at=at(T0 + 9 * DAY), observed_at=at(T0 + 9 * DAY)),
                partition=0,
                offset=0,
            ),  # future
            rec(POSTS, post(event_id="p-9"), partition=3, offset=77),
        ]
    )
    assert p.tps == [f"{COMMENTS}:0", f"{COMMENTS}:1", f"{AUDIENCE}:0", f"{POSTS}:0", f"{POSTS}:3"]
    assert p.last == [12, 5, 3, 0, 77]
    # every op points at its own partition's slot (1-based for Lua)
    assert [(op["i"], op["o"]) for op in p.events] == [(1, 10), (1, 12), (1, 11), (5, 77)]
    assert p.dead_index == [
        {"i": 2, "o": 5, "code": "invalid_json"},
        {"i": 2, "o": 4, "code": "invalid_json"},
        {"i": 4, "o": 0, "code": "future_timestamp"},
    ]
    assert len(p.rekeyed) == 1


def test_empty_batch() -> None:
    p = plan([])
    assert p.request() == {"tps": [], "last": [], "events": [], "dead": []}
