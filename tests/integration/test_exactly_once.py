"""Exactly-once tables under at-least-once delivery: SIGKILLed workers and a two-worker group end
with the same tables as one clean worker reading the same records (on a second namespace).

The streams hold no unkeyed records on purpose: a re-key is produced before its batch is applied,
so after a crash the re-keyed copy can be produced twice. The tables still count it once (event_id
dedup), but the ``duplicates`` counter then legitimately differs from a clean run's.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment

from monitor.core.metrics import TIERS
from monitor.kafka.topics import create_topics
from monitor.settings import Settings, load_settings
from monitor.sim.traffic import Traffic, generate
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from schemas.events import format_time_ms
from tests.helpers import (
    Proc,
    end_offsets,
    event_records,
    produce,
    read_topic,
    wait_caught_up,
    wait_for,
)

pytestmark = pytest.mark.integration

INPUTS = ("social.posts", "social.comments", "social.audience")
BOARD_METRICS = (
    "followers",
    "growth_24h",
    "growth_24h_pct",
    "interactions_1h",
    "interactions_24h",
    "engagement_rate_24h",
    "posts_24h",
    "comments_24h",
    "sentiment_24h",
)
DAY_MS = 86_400_000

Record = tuple[str, bytes | None, bytes | None]
Spawn = Callable[..., Proc]


# --- the stream --------------------------------------------------------------------------------


class Stream:
    """A generated stream plus upstream repeats, malformed records and late events."""

    def __init__(self, traffic: Traffic, *, duplicates: int, seed: int) -> None:
        rng = random.Random(seed)
        events = list(generate(traffic))
        records: list[Record] = list(event_records(events))
        self.valid = len(records)
        creators = sorted({e["creator_id"] for _, e in events})
        # upstream repeats: the same bytes again, a little later in the stream
        for i in sorted(rng.sample(range(len(records)), duplicates), reverse=True):
            records.insert(min(len(records), i + rng.randrange(1, 3000)), records[i])
        self.duplicates = duplicates
        self.bad_codes: Counter[str] = Counter()
        for n in range(60):
            topic, key, value, code = self._malformed(n, rng.choice(creators), traffic)
            records.insert(rng.randrange(len(records)), (topic, key, value))
            self.bad_codes[code] += 1
        # older than retention: counted as late, after everything else so the watermark is up
        start_ms = int(traffic.start.timestamp() * 1000)
        late = [
            (
                "social.comments",
                {
                    "event_id": f"late-{n}",
                    "platform": "instagram",
                    "comment_id": f"late-{n}",
                    "post_id": "old",
                    "creator_id": creators[n * 7 % len(creators)],
                    "text": "so old",
                    "created_at": format_time_ms(start_ms - 20 * DAY_MS + n * 1000),
                },
            )
            for n in range(25)
        ]
        records.extend(event_records(late))
        self.late = len(late)
        self.records = records

    @staticmethod
    def _malformed(n: int, creator: str, traffic: Traffic) -> tuple[str, bytes, bytes | None, str]:
        key = creator.encode()
        start = int(traffic.start.timestamp() * 1000)
        audience = {
            "event_id": f"bad-{n}",
            "platform": "instagram",
            "creator_id": creator,
            "followers": 10,
            "observed_at": format_time_ms(start + DAY_MS),
        }
        cases: list[tuple[str, bytes | None, str]] = [
            ("social.comments", b'{"event_id": "x", ', "invalid_json"),
            ("social.posts", b"\xff\xfe\x00\x01", "invalid_utf8"),
            ("social.audience", orjson.dumps({**audience, "followers": -5}), "negative_count"),
            (
                "social.audience",
                orjson.dumps({**audience, "observed_at": "2026-11-13"}),
                "bad_timestamp",
            ),
            (
                "social.audience",
                orjson.dumps({**audience, "observed_at": "2031-01-01T00:00:00Z"}),
                "future_timestamp",
            ),
            ("social.posts", None, "empty_payload"),
        ]
        topic, value, code = cases[n % len(cases)]
        return topic, key, value, code


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
async def clean_settings(
    settings_env: dict[str, str], redis: aioredis.Redis
) -> AsyncIterator[Settings]:
    """Settings for a second namespace on the same Kafka and Redis; its keys removed after."""
    namespace = f"t{uuid.uuid4().hex[:10]}."
    yield load_settings(environ={**settings_env, "MONITOR_NAMESPACE": namespace})
    async for key in redis.scan_iter(match=f"{namespace}*", count=1000):
        await redis.delete(key)


async def feed(settings: Settings, records: Sequence[Record]) -> int:
    await create_topics(settings)
    await produce(settings, records)
    ends = await end_offsets(settings, INPUTS)
    assert sum(ends.values()) == len(records)
    return len(records)


async def applied_records(redis: aioredis.Redis, settings: Settings) -> int:
    """Records whose batch Redis has: the stored per-partition offsets (topics start at 0)."""
    offsets = await redis.hgetall(Keys(settings.redis_prefix).offsets)
    return sum(int(v) + 1 for v in offsets.values())


async def kill_at(
    spawn: Spawn, redis: aioredis.Redis, settings: Settings, total: int, fraction: float, name: str
) -> float:
    """Start a worker, SIGKILL it once Redis holds ``fraction`` of the stream; the progress then."""
    proc = spawn("worker", name=name)

    async def reached() -> bool:
        return await applied_records(redis, settings) >= fraction * total

    await wait_for(reached, timeout=90, interval=0.02, what=f"{fraction:.0%} applied")
    proc.kill()
    assert proc.popen.returncode == -9
    await asyncio.sleep(0.3)  # a script already sent still runs to its end in Redis
    return await applied_records(redis, settings) / total


async def run_clean(
    spawn: Spawn, redis: aioredis.Redis, settings: Settings, total: int
) -> tuple[Proc, float]:
    """One worker over the whole stream; events/s from the first to the last applied offset."""
    proc = spawn("worker", extra_env={"MONITOR_NAMESPACE": settings.namespace}, name="clean")
    first_at, first_n = 0.0, 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        n = await applied_records(redis, settings)
        now = time.monotonic()
        if n and not first_at:
            first_at, first_n = now, n
        if n >= total:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"clean worker did not finish: {n}/{total}")
    rate = (total - first_n) / (now - first_at) if now > first_at else float("inf")
    await wait_caught_up(redis, settings, INPUTS)
    return proc, rate


async def snapshot(redis: aioredis.Redis, settings: Settings) -> dict[str, Any]:
    """Everything a user can read about the tables, through the read API."""
    tables = Tables(redis, Keys(settings.redis_prefix), settings)
    keys = Keys(settings.redis_prefix)
    creators = sorted(await tables.all_creator_ids())
    communities = sorted(await tables.communities())
    boards: dict[str, list[dict[str, Any]]] = {}
    for metric in BOARD_METRICS:
        boards[metric] = await tables.top_creators(sort=metric, limit=100_000)
        for tier in TIERS:
            boards[f"{metric}/tier={tier}"] = await tables.top_creators(
                sort=metric, tier=tier, limit=100_000
            )
    for community in communities:
        boards[f"followers/community={community}"] = await tables.top_creators(
            sort="followers", community=community, limit=100_000
        )
    stats = await redis.hgetall(keys.stats)
    letters = await read_topic(settings, "monitor.deadletter")
    return {
        "watermark": await tables.watermark(),
        "creators": {c: await tables.creator(c) for c in creators},
        "communities": {g: await tables.community(g) for g in communities},
        "boards": boards,
        "stats": {k: int(stats.get(k, 0)) for k in ("applied", "duplicates", "late")},
        "dead_letter_counts": {
            k: int(v) for k, v in (await redis.hgetall(keys.deadletter_counts)).items()
        },
        # at-least-once on the topic: compare the set of source records dead-lettered
        "dead_letters": {
            (
                d["topic"].removeprefix(settings.namespace),
                d["partition"],
                d["offset"],
                d["code"],
            )
            for d in (orjson.loads(r.value) for r in letters)
        },
    }


def assert_same_tables(got: dict[str, Any], want: dict[str, Any]) -> None:
    assert got["watermark"] == want["watermark"]
    assert got["creators"].keys() == want["creators"].keys()
    for creator, doc in want["creators"].items():
        assert got["creators"][creator] == doc, creator
    assert got["communities"] == want["communities"]
    assert got["boards"].keys() == want["boards"].keys()
    for board, docs in want["boards"].items():
        assert [d["creator_id"] for d in got["boards"][board]] == [d["creator_id"] for d in docs], (
            board
        )
        assert got["boards"][board] == docs, board
    assert got["stats"] == want["stats"]
    assert got["dead_letter_counts"] == want["dead_letter_counts"]
    assert got["dead_letters"] == want["dead_letters"]


def assert_expected_counts(snap: dict[str, Any], stream: Stream) -> None:
    assert snap["stats"] == {
        "applied": stream.valid,
        "duplicates": stream.duplicates,
        "late": stream.late,
    }
    assert snap["dead_letter_counts"] == dict(stream.bad_codes)
    assert Counter(code for *_, code in snap["dead_letters"]) == stream.bad_codes
    assert len(snap["creators"]) > 100
    assert all(doc is not None for doc in snap["creators"].values())
    assert len(snap["boards"]["followers"]) == len(snap["creators"])
    # the stored documents the boards list hold what a fresh computation at the watermark gives
    for doc in snap["boards"]["followers"]:
        assert doc == snap["creators"][doc["creator_id"]], doc["creator_id"]


async def group_assignment(settings: Settings) -> dict[str, set[str]]:
    """Member id -> ``topic:partition`` of the input topics, from the broker's view of the group."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([settings.group_id("worker")])
    finally:
        await admin.close()
    (group,) = response.groups
    # (error_code, group_id, state, protocol_type, protocol, members[, authorized_operations])
    error_code, state, members = group[0], group[2], group[5]
    assert error_code == 0
    if state != "Stable":
        return {}
    inputs = {settings.topic(t) for t in INPUTS}
    out: dict[str, set[str]] = {}
    for member in members:
        member_id, assignment = member[0], member[-1]
        decoded = ConsumerProtocolMemberAssignment.decode(assignment)
        out[member_id] = {
            f"{topic}:{p}" for topic, parts in decoded.assignment if topic in inputs for p in parts
        }
    return out


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.slow
async def test_sigkilled_worker_ends_with_the_tables_of_a_clean_run(
    settings: Settings,
    clean_settings: Settings,
    redis: aioredis.Redis,
    spawn: Spawn,
    record_property: Callable[[str, object], None],
) -> None:
    stream = Stream(
        Traffic(creators=150, hours=30, comments_per_hour=800, seed=20261126),
        duplicates=400,
        seed=5,
    )
    total = await feed(settings, stream.records)
    await feed(clean_settings, stream.records)

    first = await kill_at(spawn, redis, settings, total, 0.25, "crash-1")
    second = await kill_at(spawn, redis, settings, total, 0.60, "crash-2")
    assert 0 < first < second < 1, (first, second)
    final = spawn("worker", name="after-crashes")
    await wait_caught_up(redis, settings, INPUTS)
    crashed = await snapshot(redis, settings)
    final.stop()  # the clean worker's rate is measured alone

    _, rate = await run_clean(spawn, redis, clean_settings, total)
    clean = await snapshot(redis, clean_settings)

    record_property("kill_progress", f"{first:.1%}, {second:.1%}")
    record_property("clean_events_per_s", round(rate))
    print(f"\nkilled at {first:.1%} and {second:.1%}; clean worker: {rate:,.0f} records/s")
    assert_expected_counts(clean, stream)
    assert_same_tables(crashed, clean)


@pytest.mark.slow
async def test_two_workers_in_one_group_match_a_single_worker(
    settings: Settings, clean_settings: Settings, redis: aioredis.Redis, spawn: Spawn
) -> None:
    stream = Stream(
        Traffic(creators=120, hours=26, comments_per_hour=500, seed=77), duplicates=200, seed=9
    )
    half = len(stream.records) // 2
    await create_topics(settings)
    await produce(settings, stream.records[:half])

    first = spawn("worker", name="first")

    async def started() -> bool:
        return await applied_records(redis, settings) > 0

    await wait_for(started, timeout=60, what="the first worker to apply a batch")
    second = spawn("worker", name="second")

    async def two_members() -> dict[str, set[str]]:
        members = await group_assignment(settings)
        return members if len(members) == 2 and all(members.values()) else {}

    before = await wait_for(two_members, timeout=60, interval=0.5, what="both workers assigned")
    ends_before = await end_offsets(settings, INPUTS)
    await produce(settings, stream.records[half:])
    await wait_caught_up(redis, settings, INPUTS)
    after = await group_assignment(settings)
    ends_after = await end_offsets(settings, INPUTS)
    offsets = await redis.hgetall(Keys(settings.redis_prefix).offsets)

    # The group did not change while the second half was applied, and each worker's partitions got
    # new records in that time: each worker applied some of them itself.
    assert after == before
    all_inputs = set().union(*before.values())
    assert len(all_inputs) == 12  # 3 input topics x the default 4 partitions
    for member, parts in before.items():
        grown = [tp for tp in parts if ends_after.get(tp, 0) > ends_before.get(tp, 0)]
        assert grown, f"{member} got no new records"
        for tp in grown:
            assert int(offsets[tp]) == ends_after[tp] - 1
    shared = await snapshot(redis, settings)
    first.stop()
    second.stop()

    await feed(clean_settings, stream.records)
    await run_clean(spawn, redis, clean_settings, len(stream.records))
    single = await snapshot(redis, clean_settings)

    assert_expected_counts(single, stream)
    assert_same_tables(shared, single)
