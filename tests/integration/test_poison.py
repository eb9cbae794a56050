"""Poison records (issue #22): no input may stall, crash-loop or corrupt the pipeline.

Each case produces its hostile records to the real broker between two rounds of good records
that land on every partition of every input topic, runs one real ``monitor worker`` and checks:
every good record applied, every bad one a dead letter with its reason, the dead-letter counters
equal to what is on the topic, nothing served wrong, the worker alive throughout and stopped by
SIGTERM within 10 s.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.settings import Settings, load_settings
from monitor.store.client import make_redis
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from schemas.events import MAX_COUNT, format_time_ms
from schemas.records import DEADLETTER_MAX_BYTES
from tests.helpers import Proc, read_topic, wait_caught_up
from tests.integration.test_web import start_web
from tests.support import OwnRedis

pytestmark = [pytest.mark.integration, pytest.mark.slow]

NOW_MS = (int(time.time() * 1000) // 60_000 - 60) * 60_000  # an hour ago, on a minute
T0, T1 = format_time_ms(NOW_MS - 600_000), format_time_ms(NOW_MS)
GOOD_CREATORS = [f"good:{i}" for i in range(24)]  # murmur2 spreads them over every partition
STOP_WITHIN_S = 10.0
INT64_MAX, INT62 = 2**63 - 1, 2**62

Produced = tuple[str, bytes | None, bytes]  # contract topic, key, value


def post(creator: str, post_id: str, *, at: str = T1, created: str = T0, **counts: int) -> Any:
    return {
        "event_id": f"p-{creator}-{post_id}-{at}",
        "platform": "ig",
        "creator_id": creator,
        "post_id": post_id,
        "created_at": created,
        "observed_at": at,
        "likes": 1,
        "comments": 1,
        "shares": 1,
        **counts,
    }


def audience(creator: str, followers: int, *, at: str = T1, event_id: str = "") -> Any:
    return {
        "event_id": event_id or f"a-{creator}-{at}-{followers}",
        "platform": "ig",
        "creator_id": creator,
        "followers": followers,
        "observed_at": at,
    }


def comment(creator: str, n: int) -> Any:
    return {
        "event_id": f"c-{creator}-{n}",
        "platform": "ig",
        "creator_id": creator,
        "comment_id": f"c{n}",
        "post_id": "p1",
        "text": "lovely",
        "created_at": T1,
    }


def keyed(topic: str, event: dict[str, Any]) -> Produced:
    return (topic, event["creator_id"].encode(), orjson.dumps(event))


def good_round(n: int) -> list[Produced]:
    """One good record per creator and topic; round 2's follower counts are the ones served."""
    out: list[Produced] = []
    for i, c in enumerate(GOOD_CREATORS):
        at = T0 if n == 1 else T1
        out.append(keyed("social.audience", audience(c, 1000 * n + i, at=at)))
        out.append(keyed("social.posts", post(c, f"p{n}", at=at, created=T0)))
        out.append(keyed("social.comments", comment(c, n)))
    return out


Get = Callable[[str], Awaitable[tuple[int, Any]]]  # web API path -> status, JSON body
Check = Callable[[Tables, Get], Awaitable[None]]


@dataclass(frozen=True)
class Case:
    """Hostile records with the dead-letter code each must get (None: it is good, applied)."""

    records: list[tuple[Produced, str | None]]
    check: Check | None = None
    truncated: bool = field(default=False)
    overflow: int = 0  # bucket updates held at +-(2^53 - 1)


async def _followers(tables: Tables, creator: str) -> Any:
    doc = await tables.creator(creator)
    assert doc is not None, f"{creator} is unknown"
    return doc["followers"]


async def _check_served_ints(tables: Tables, _: Any) -> None:
    assert await _followers(tables, "big:f") == 7  # not -9223372036854775808
    assert await _followers(tables, "big:g") == 5  # not 2**53
    doc = await tables.creator("big:i")
    assert doc is not None
    assert doc["interactions_24h"] == 3  # the good post only; never negative


async def _check_saturated(tables: Tables, _: Any) -> None:
    doc = await tables.creator("sum:x")
    assert doc is not None
    assert doc["interactions_24h"] == MAX_COUNT  # held at the stated bound, never wrapped


async def _check_same_observed(tables: Tables, _: Any) -> None:
    assert await _followers(tables, "same:t") == 42


async def _check_collision(tables: Tables, get: Get) -> None:
    assert await _followers(tables, "a:victim}:ps:q") == 9
    victim = await tables.creator("a:victim")
    assert victim is not None
    assert victim["posts_24h"] == 1
    status, body = await get("/api/creators/" + quote("a:victim}:ps:q", safe=""))
    assert (status, body["followers"]) == (200, 9)
    status, _ = await get("/api/creators/" + quote("nobody}:meta", safe=""))
    assert status == 404


async def _check_control_id(_: Tables, get: Get) -> None:
    status, _ = await get("/api/creators/" + quote("bad\x07id", safe=""))
    assert status == 400  # refused by the web API as by ingest: never listed, never fetched


CASES: dict[str, Case] = {
    "control characters escape to 6 bytes": Case(
        [(("social.comments", b"good:0", b"\x01" * 200_000), "invalid_json")], truncated=True
    ),
    "900 KB key": Case([(("social.comments", b"k" * 900_000, b"[]"), "not_an_object")]),
    "likes + comments + shares overflow int64": Case(
        [
            (
                keyed(
                    "social.posts",
                    post("big:s", "p", likes=INT64_MAX, comments=INT64_MAX, shares=INT64_MAX),
                ),
                "out_of_range",
            )
        ]
    ),
    "counts that Lua or Redis cannot hold exactly": Case(
        [
            (keyed("social.audience", audience("big:f", 7, at=T0)), None),
            (keyed("social.audience", audience("big:f", INT64_MAX)), "out_of_range"),
            (keyed("social.audience", audience("big:g", 5, at=T0)), None),
            (keyed("social.audience", audience("big:g", 2**53 + 1)), "out_of_range"),
            (keyed("social.posts", post("big:i", "p1")), None),
            (
                keyed("social.posts", post("big:i", "p2", likes=INT62, comments=INT62)),
                "out_of_range",
            ),
        ],
        check=_check_served_ints,
    ),
    "interactions of many posts summing past 2^53": Case(
        [
            (
                keyed(
                    "social.posts", post("sum:x", f"p{n}", likes=MAX_COUNT, comments=0, shares=0)
                ),
                None,
            )
            for n in range(3)
        ],
        check=_check_saturated,
        overflow=2,  # its hour bucket and its minute bucket
    ),
    "a second snapshot at the same observed_at after an out-of-range one": Case(
        [
            (keyed("social.audience", audience("same:t", INT64_MAX)), "out_of_range"),
            (keyed("social.audience", audience("same:t", 42)), None),
        ],
        check=_check_same_observed,
    ),
    "ids that would reach another creator's keys": Case(
        [
            (keyed("social.posts", post("a:victim", "q}:meta")), None),
            (keyed("social.audience", audience("a:victim}:ps:q", 9)), None),
        ],
        check=_check_collision,
    ),
    "control characters in ids": Case(
        [(keyed("social.audience", audience("bad\x07id", 3)), "bad_value")],
        check=_check_control_id,
    ),
    "created_at after observed_at, and year 0001": Case(
        [
            (keyed("social.posts", post("time:a", "p", created=T1, at=T0)), "bad_timestamp"),
            (
                keyed("social.posts", post("time:b", "p", created="0001-01-01T00:00:00Z")),
                "bad_timestamp",
            ),
        ]
    ),
}


async def _produce(settings: Settings, records: list[Produced]) -> list[tuple[str, int, int]]:
    """Produce in order, acks=all; the (topic, partition, offset) each record got."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(settings.topic(t), value=v, key=k) for t, k, v in records]
        meta = await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return [(m.topic, m.partition, m.offset) for m in meta]


def _stop_promptly(worker: Proc) -> None:
    assert worker.popen.poll() is None, "the worker died (it would be restarted into a loop)"
    started = time.monotonic()
    worker.stop(timeout=STOP_WITHIN_S + 5)
    took = time.monotonic() - started
    assert took < STOP_WITHIN_S, f"SIGTERM took {took:.1f}s"
    assert worker.popen.returncode != -9


@pytest.mark.parametrize("name", list(CASES))
async def test_poison_record_costs_one_dead_letter(
    name: str,
    settings: Settings,
    settings_env: dict[str, str],
    redis: Any,
    spawn: Callable[..., Proc],
    tmp_path: Path,
) -> None:
    case = CASES[name]
    await create_topics(settings)
    hostile = [r for r, _ in case.records]
    before = await _produce(settings, good_round(1))
    positions = await _produce(settings, hostile)
    after = await _produce(settings, good_round(2))
    assert {(t, p) for t, p, _ in before + after} >= {
        (settings.topic(t), p) for t in INPUT_TOPICS for p in range(settings.topic_partitions)
    }, "good records must land on every partition"
    worker = spawn("worker")
    await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=90)
    keys = Keys(settings.redis_prefix)
    tables = Tables(redis, keys, settings)

    # every good record applied, and served as sent
    bad = sum(code is not None for _, code in case.records)
    applied = int(await redis.hget(keys.stats, "applied") or 0)
    assert int(await redis.hget(keys.stats, "overflow") or 0) == case.overflow
    assert applied == len(before) + len(after) + len(case.records) - bad
    for i, c in enumerate(GOOD_CREATORS):
        assert await _followers(tables, c) == 2000 + i

    # every bad record one dead letter with its reason; the counters count what is on the topic
    raw = await read_topic(settings, "monitor.deadletter")
    assert all(len(r.value) + len(r.key or b"") <= DEADLETTER_MAX_BYTES for r in raw)
    letters = [orjson.loads(r.value) for r in raw]
    by_position = {(d["topic"], d["partition"], d["offset"]): d for d in letters}
    expected = {pos: code for pos, (_, code) in zip(positions, case.records, strict=True) if code}
    assert {pos: by_position[pos]["code"] for pos in by_position} == expected
    assert any(d["truncated"] for d in letters) == case.truncated
    counted = {k: int(v) for k, v in (await redis.hgetall(keys.deadletter_counts)).items()}
    assert counted == dict(Counter(expected.values()))

    if case.check is not None:
        web, url = await start_web(settings_env, tmp_path / "web.log")
        async with aiohttp.ClientSession() as session:

            async def get(path: str) -> tuple[int, Any]:
                async with session.get(url + path) as r:
                    return r.status, await r.json()

            await case.check(tables, get)
        web.stop()
    _stop_promptly(worker)


async def test_sigterm_is_prompt_while_redis_is_away(
    settings_env: dict[str, str], spawn: Callable[..., Proc], tmp_path: Path
) -> None:
    """A worker waiting out a Redis outage stops on SIGTERM and commits nothing it did not apply."""
    own = OwnRedis(tmp_path)
    own.start()
    env = {**settings_env, "MONITOR_REDIS": own.url}
    settings = load_settings(environ=env)
    redis = make_redis(settings)
    keys = Keys(settings.redis_prefix)
    try:
        await create_topics(settings)
        await _produce(settings, good_round(1))
        worker = spawn("worker", extra_env={"MONITOR_REDIS": own.url})
        await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=90)
        own.stop()
        await _produce(settings, good_round(2))  # arrives while Redis is away: retried
        await asyncio.sleep(3)
        _stop_promptly(worker)
        own.start()
        await redis.aclose()
        redis = make_redis(settings)
        spawn("worker", extra_env={"MONITOR_REDIS": own.url}, name="again")
        await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=90)
        tables = Tables(redis, keys, settings)
        for i, c in enumerate(GOOD_CREATORS):
            assert await _followers(tables, c) == 2000 + i  # round 2 was not committed unapplied
    finally:
        await redis.aclose()
        own.stop()
