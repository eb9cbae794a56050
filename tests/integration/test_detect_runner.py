"""The detector runner against the real Redis and Kafka, with the worker's writes planted by hand.

Each test plays the ingest side itself (partition watermarks, applied offsets, brand buckets) and
drives ``Detector`` pass by pass, so it can say exactly which steps may be judged and when.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from monitor.brands.rules import BrandRule
from monitor.core.units import DAY_MS, MINUTE_MS
from monitor.detect.outbox import Outbox
from monitor.detect.runner import Detector
from monitor.ingest.pipeline import Outgoing
from monitor.kafka.sender import BatchSender
from monitor.kafka.topics import ALERTS, COMMENTS, EndOffsets, create_topics
from monitor.settings import Settings
from monitor.store.creators import Tables
from monitor.store.keys import DETECT_STEP_MS, Keys
from schemas.events import format_time_ms
from schemas.records import Alert
from tests.helpers import read_topic

pytestmark = pytest.mark.integration

T0 = 1_800_000_000_000 // DETECT_STEP_MS * DETECT_STEP_MS  # a step boundary
STEP0 = T0 // DETECT_STEP_MS
WALL_S = T0 / 1000 + 3600.0  # the detectors' wall clock, well past the planted events


class FailingSends:
    """The real sender, but its next ``failures`` sends fail as an unreachable broker's would."""

    def __init__(self, inner: BatchSender, failures: int) -> None:
        self._inner = inner
        self.failures = failures

    async def send_many(self, records: Sequence[Outgoing]) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker unreachable")
        await self._inner.send_many(records)


@dataclass
class Kafka:
    sender: BatchSender
    end_offsets: EndOffsets


@pytest.fixture
async def kafka(settings: Settings) -> AsyncIterator[Kafka]:
    await create_topics(settings)
    out = Kafka(BatchSender(settings), EndOffsets(settings))
    yield out
    await out.sender.stop()
    await out.end_offsets.close()


def make_detector(
    settings: Settings,
    redis: aioredis.Redis,
    kafka: Kafka,
    *,
    keys: Keys | None = None,
    rules: dict[str, BrandRule] | None = None,
    clock: list[float] | None = None,
    sender: FailingSends | None = None,
) -> Detector:
    keys = keys or Keys(settings.redis_prefix)
    wall = clock or [WALL_S]
    return Detector(
        redis=redis,
        keys=keys,
        settings=settings,
        tables=Tables(redis, keys, settings),
        rules=lambda: rules or {},
        sender=sender or kafka.sender,
        end_offsets=kafka.end_offsets,
        clock=lambda: wall[0],
    )


def tp(settings: Settings, partition: int) -> str:
    return f"{settings.topic(COMMENTS)}:{partition}"


async def cursor(redis: aioredis.Redis, key: str) -> int | None:
    raw = await redis.get(key)
    return None if raw is None else int(raw)


async def test_a_step_is_judged_only_once_every_active_partition_passed_it(
    settings: Settings, redis: aioredis.Redis, kafka: Kafka
) -> None:
    keys = Keys(settings.redis_prefix)
    # partition 0 holds one record, partition 1 two: their end offsets are real
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all")
    await producer.start()
    try:
        for partition in (0, 1, 1):
            await producer.send_and_wait(settings.topic(COMMENTS), b"{}", partition=partition)
    finally:
        await producer.stop()
    clock = [WALL_S]
    det = make_detector(settings, redis, kafka, clock=clock)
    old_wall = str(int((WALL_S - 60) * 1000))  # long enough ago to count as idle
    await redis.set(keys.first_event, T0)
    await redis.hset(keys.offsets, tp(settings, 0), 0)  # partition 0: all applied, idle
    await redis.hset(keys.partition_walls, tp(settings, 0), old_wall)
    await redis.hset(keys.partition_watermarks, tp(settings, 0), T0 + 15 * MINUTE_MS)

    # partition 1 has records but none applied: nothing is known yet
    await det.run_creators()
    assert await cursor(redis, keys.detect_step) is None

    # partition 1 lags (1 of 2 applied): it holds detection back, idle wall clock or not
    await redis.hset(keys.offsets, tp(settings, 1), 0)
    await redis.hset(keys.partition_walls, tp(settings, 1), old_wall)
    await redis.hset(keys.partition_watermarks, tp(settings, 1), T0 + 6 * MINUTE_MS)
    await det.run_creators()
    await det.run_brands()
    assert await cursor(redis, keys.detect_step) == STEP0  # [T0, T0 + 5 min) only
    assert await cursor(redis, keys.detect_minute) == T0 // MINUTE_MS + 5

    # caught up but still receiving: it holds back until its watermark
    await redis.hset(keys.offsets, tp(settings, 1), 1)
    await redis.hset(keys.partition_walls, tp(settings, 1), str(int(WALL_S * 1000)))
    await redis.hset(keys.partition_watermarks, tp(settings, 1), T0 + 11 * MINUTE_MS)
    await det.run_creators()
    assert await cursor(redis, keys.detect_step) == STEP0 + 1

    # silent for partition_idle_s: nothing holds back, the newest watermark closes
    clock[0] = WALL_S + settings.partition_idle_s
    await det.run_creators()
    assert await cursor(redis, keys.detect_step) == STEP0 + 2


async def test_a_failed_step_keeps_the_steps_committed_before_it(
    settings: Settings, redis: aioredis.Redis, kafka: Kafka
) -> None:
    keys = Keys(settings.redis_prefix)
    det = make_detector(settings, redis, kafka, rules={"acme": rule()})
    await redis.set(keys.first_event, T0)
    await redis.hset(keys.partition_watermarks, tp(settings, 0), T0 + 3 * DETECT_STEP_MS)
    # the second step's dirty set is not a set: reading it fails as a lost connection would
    await redis.set(keys.dirty_creators(STEP0 + 1), "not a set")
    with pytest.raises(aioredis.ResponseError, match="WRONGTYPE"):
        await det.run_creators()
    assert await cursor(redis, keys.detect_step) == STEP0
    assert await redis.hkeys(keys.detect_brand_sentiment) == ["acme"]  # step 0's commit

    await redis.delete(keys.dirty_creators(STEP0 + 1))
    await det.run_creators()
    assert await cursor(redis, keys.detect_step) == STEP0 + 2


def alert(n: int) -> Alert:
    at = format_time_ms(T0 + n * MINUTE_MS)
    return Alert(
        alert_id=f"mention_spike:acme:{at}",
        type="mention_spike",
        status="firing",
        severity="warning",
        brand="acme",
        creator_id=None,
        community=None,
        window="15m",
        value=40,
        baseline=3.75,
        score=1e-9,
        threshold=1e-4,
        event_time=at,
        detected_at=at,
        summary=f"Acme: spike {n}",
        evidence={},
    )


async def kafka_alerts(settings: Settings) -> list[str]:
    return [orjson.loads(r.value)["alert_id"] for r in await read_topic(settings, ALERTS)]


async def test_the_outbox_survives_a_failed_send_and_each_record_goes_out_once(
    settings: Settings, redis: aioredis.Redis, kafka: Kafka
) -> None:
    keys = Keys(settings.redis_prefix)
    sender = FailingSends(kafka.sender, failures=1)
    outbox = Outbox(redis=redis, keys=keys, settings=settings, sender=sender)
    await outbox.commit({}, {}, [alert(1), alert(2)])

    with pytest.raises(KafkaConnectionError):
        await outbox.flush()
    assert await redis.llen(keys.detect_outbox) == 2  # kept for the next flush
    assert await redis.xlen(keys.alerts_stream) == 0

    # the brand and creator timers flush at once: still one send per record
    assert sorted(await asyncio.gather(outbox.flush(), outbox.flush())) == [0, 2]
    assert await redis.llen(keys.detect_outbox) == 0
    assert await redis.xlen(keys.alerts_stream) == 2

    # a stale copy of a delivered record (a leader that lost its lease) is recognised, not re-sent
    await outbox.commit({}, {}, [alert(2)])
    assert await outbox.flush() == 0
    assert await redis.llen(keys.detect_outbox) == 0
    assert await kafka_alerts(settings) == [alert(1).alert_id, alert(2).alert_id]


def rule() -> BrandRule:
    return BrandRule(brand_id="acme", name="Acme Shoes", terms=("acme",))


# Minutes of the planted history: a mention every 4 minutes for 400 minutes (the spike detector
# learns for 360 before it may fire), then 15 minutes at 4 a minute, then quiet. The burst
# crosses midnight, so the window reads two day hashes.
M0 = (T0 // DAY_MS + 1) * 1440 - 405
BURST = range(M0 + 400, M0 + 415)
LAST = M0 + 460


def evidence(minute: int) -> dict[bytes, int]:
    """The one mention planted as a burst minute's evidence (member -> event time)."""
    post = orjson.dumps({"post_id": f"p{minute}", "creator_id": "ig:a", "t": minute * MINUTE_MS})
    return {post: minute * MINUTE_MS}


async def plant_mentions(redis: aioredis.Redis, keys: Keys) -> None:
    pipe = redis.pipeline(transaction=False)
    for m in range(M0, LAST):
        count = 4 if m in BURST else (1 if m % 4 == 0 else 0)
        if count:
            pipe.hset(keys.brand_minutes("acme", m * MINUTE_MS // DAY_MS), str(m), count)
        if m in BURST:
            pipe.zadd(keys.brand_minute_evidence("acme", m), evidence(m))
    pipe.set(keys.first_event, M0 * MINUTE_MS)
    await pipe.execute()


async def judge_minutes(
    settings: Settings, redis: aioredis.Redis, det: Detector, keys: Keys, upto: int
) -> None:
    """Let the brand pass judge every minute before ``upto`` (one idle partition reached it)."""
    await redis.hset(keys.partition_watermarks, tp(settings, 0), upto * MINUTE_MS)
    await det.run_brands()
    assert await cursor(redis, keys.detect_minute) == upto - 1


async def stream(redis: aioredis.Redis, keys: Keys) -> list[dict[str, Any]]:
    entries: list[tuple[str, dict[str, str]]] = await redis.xrange(keys.alerts_stream)  # type: ignore[assignment]  # decode_responses=True
    return [orjson.loads(f["alert"]) for _, f in entries]


async def test_a_planted_brand_spike_fires_one_alert_with_the_same_id_however_it_is_judged(
    settings: Settings, redis: aioredis.Redis, kafka: Kafka
) -> None:
    rules = {"acme": rule()}
    # all minutes in one pass (a replay at full speed)...
    fast = Keys(settings.redis_prefix)
    await plant_mentions(redis, fast)
    await judge_minutes(
        settings, redis, make_detector(settings, redis, kafka, rules=rules), fast, LAST
    )
    # ...and minute by minute through the burst, living through it, in a namespace of its own
    live = Keys(f"{settings.namespace}live.sm:")
    det = make_detector(settings, redis, kafka, keys=live, rules=rules)
    await plant_mentions(redis, live)
    await judge_minutes(settings, redis, det, live, BURST.start)
    # the burst's first minute cannot be read as evidence: the pass fails and leaves no trace
    poisoned = live.brand_minute_evidence("acme", BURST.start)
    await redis.delete(poisoned)
    await redis.set(poisoned, "not a sorted set")
    await redis.hset(live.partition_watermarks, tp(settings, 0), BURST.stop * MINUTE_MS)
    spikes_before = await redis.hget(live.detect_brand_spikes, "acme")
    with pytest.raises(aioredis.ResponseError, match="WRONGTYPE"):
        await det.run_brands()
    assert await cursor(redis, live.detect_minute) == BURST.start - 1
    assert await redis.hget(live.detect_brand_spikes, "acme") == spikes_before
    assert await redis.llen(live.detect_outbox) == 0
    await redis.delete(poisoned)
    await redis.zadd(poisoned, evidence(BURST.start))
    for m in [*range(BURST.start + 1, LAST, 3), LAST]:
        await judge_minutes(settings, redis, det, live, m)

    alerts = await stream(redis, fast)
    assert alerts == await stream(redis, live)
    # one episode, one alert_id (where it began): warning, a repeat as it turned critical
    # past midnight, then resolved
    assert {a["alert_id"] for a in alerts} == {"mention_spike:acme:2027-01-15T23:58:00Z"}
    assert [(a["status"], a["severity"], a["event_time"], a["value"]) for a in alerts] == [
        ("firing", "warning", "2027-01-15T23:58:00Z", 15),
        ("firing", "critical", "2027-01-16T00:00:00Z", 22),
        ("resolved", "warning", "2027-01-16T00:25:00Z", 4),
    ]
    assert format_time_ms(BURST.start * MINUTE_MS) == "2027-01-15T23:55:00Z"
    firing = alerts[0]
    # newest first from the minute it fired, back into the minute restored above
    newest = [BURST.start + 2, BURST.start + 1, BURST.start]
    assert [p["post_id"] for p in firing["evidence"]["top_posts"]] == [f"p{m}" for m in newest]
    assert "Acme Shoes" in firing["summary"]
    assert await redis.hgetall(fast.brand_state("acme")) == await redis.hgetall(
        live.brand_state("acme")
    )
