"""The stream pipeline end to end: Kafka → worker process → Redis tables, exact to the value."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from monitor.kafka.topics import create_topics
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from tests.dataset import Dataset, build, oracle
from tests.helpers import event_records, produce, read_topic, wait_caught_up

pytestmark = pytest.mark.integration

INPUTS = ("social.posts", "social.comments", "social.audience")
CREATORS = ("instagram:alice", "tiktok:bob", "youtube:carol")
VOLATILE = ("late", "as_of_ms")


def _ordered(ds: Dataset, order: str) -> list[tuple[str, dict[str, Any]]]:
    posts = [("social.posts", e) for e in ds.posts]
    comments = [("social.comments", e) for e in ds.comments]
    audience = [("social.audience", e) for e in ds.audience]
    if order == "posts_first":
        events = posts + comments + audience
    elif order == "comments_first":
        events = comments + audience + posts
    elif order == "audience_first":
        events = audience + posts + comments
    elif order == "reversed":
        events = list(reversed(posts + comments + audience))
    else:  # interleaved, seeded shuffle
        events = posts + comments + audience
        random.Random(3).shuffle(events)
    return events + ds.duplicates


async def _feed(settings: Any, ds: Dataset, order: str) -> None:
    await create_topics(settings)
    await produce(settings, event_records(_ordered(ds, order)))
    await produce(settings, [(t, k, v) for t, k, v, _ in ds.malformed])
    await produce(settings, [(t, None, orjson.dumps(e)) for t, e in ds.unkeyed])


async def _snapshot(tables: Tables) -> dict[str, Any]:
    docs = {c: await tables.creator(c) for c in CREATORS}
    boards = {
        m: [d["creator_id"] for d in await tables.top_creators(sort=m, limit=10)]
        for m in (
            "followers",
            "growth_24h_pct",
            "interactions_1h",
            "engagement_rate_24h",
            "sentiment_24h",
        )
    }
    return {"docs": docs, "boards": boards}


@pytest.mark.parametrize(
    "order", ["interleaved", "posts_first", "comments_first", "audience_first", "reversed"]
)
async def test_tables_match_oracle_whatever_the_arrival_order(
    settings, redis, spawn, order
) -> None:
    ds = build()
    await _feed(settings, ds, order)
    await produce(
        settings, event_records(ds.late)
    )  # late events last: lateness is judged on arrival
    spawn("worker")
    await wait_caught_up(redis, settings, INPUTS)
    tables = Tables(redis, Keys(settings.redis_prefix), settings)
    events = ds.valid_events()
    for creator in CREATORS:
        got = await tables.creator(creator)
        assert got is not None, creator
        want = oracle(events, creator)
        assert {k: v for k, v in got.items() if k not in VOLATILE} == want, creator
    # leaderboards reflect the same values, filters included
    by_followers = [d["creator_id"] for d in await tables.top_creators(sort="followers", limit=10)]
    assert by_followers == ["youtube:carol", "instagram:alice", "tiktok:bob"]
    assert [d["creator_id"] for d in await tables.top_creators(sort="followers", tier="micro")] == [
        "instagram:alice"
    ]
    assert [
        d["creator_id"] for d in await tables.top_creators(sort="comments_24h", community="gaming")
    ] == ["tiktok:bob"]
    for doc in await tables.top_creators(sort="followers", limit=10):
        assert doc == await tables.creator(doc["creator_id"])


async def test_exact_values_dead_letters_and_late_counts(settings, redis, spawn) -> None:
    ds = build()
    await _feed(settings, ds, "interleaved")
    await produce(settings, event_records(ds.late))
    spawn("worker")
    await wait_caught_up(redis, settings, INPUTS)
    tables = Tables(redis, Keys(settings.redis_prefix), settings)

    alice = await tables.creator("instagram:alice")
    bob = await tables.creator("tiktok:bob")
    carol = await tables.creator("youtube:carol")
    assert alice
    assert bob
    assert carol
    # checked by hand against tests/dataset.py (now = 11:55Z, the newest event)
    assert (alice["followers"], alice["tier"], alice["community"]) == (
        12_000,
        "micro",
        "vegan-cooking",
    )
    assert (alice["growth_24h"], alice["growth_24h_pct"]) == (1_400, 13.2075)  # vs 10,600 at -47 h
    assert (alice["growth_7d"], alice["growth_7d_pct"]) == (2_000, 20.0)  # vs 10,000 at -8 d +1 h
    assert alice["posts_24h"] == 1  # p1; p0 is three days old
    # p1's snapshots inside (now - 60 min]: -50 min (81) and -30 min (115), after 47 at -90 min
    assert alice["interactions_1h"] == 115 - 47
    assert (bob["followers"], bob["tier"], bob["growth_24h"]) == (900, "nano", 100)
    assert (carol["followers"], carol["tier"], carol["community"]) == (251_000, "macro", None)
    assert carol["engagement_rate_24h"] == round(5390 / 251_000, 6)
    assert carol["growth_24h"] is None  # no snapshot 24 h old
    assert (alice["late"], bob["late"]) == (1, 1)
    assert (alice["comments_1h"], alice["comments_24h"]) == (6, 8)
    assert bob["comments_24h"] == 4  # three keyed + one re-keyed from an empty key

    letters = [orjson.loads(r.value) for r in await read_topic(settings, "monitor.deadletter")]
    assert sorted(d["code"] for d in letters) == sorted(code for *_, code in ds.malformed)
    for d in letters:
        assert d["topic"].startswith(settings.namespace)
        assert d["offset"] is not None
        assert d["reason"].startswith(d["code"])
    utf8 = next(d for d in letters if d["code"] == "invalid_utf8")
    assert utf8["encoding"] == "base64"
    counts = await redis.hgetall(Keys(settings.redis_prefix).deadletter_counts)
    assert {k: int(v) for k, v in counts.items()} == {code: 1 for *_, code in ds.malformed}
    stats = await redis.hgetall(Keys(settings.redis_prefix).stats)
    assert int(stats["duplicates"]) == len(ds.duplicates)

    gaming = await tables.community("gaming")
    assert gaming is not None
    assert (gaming["creators"], gaming["followers"], gaming["comments_24h"]) == (1, 900, 4)
