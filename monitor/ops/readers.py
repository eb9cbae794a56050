"""What ``monitor status`` reads: consumer groups from Kafka, progress from Redis.

Raw numbers only; ``monitor/ops/verdict.py`` judges them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, cast

import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from monitor.kafka.topics import ALERTS, INPUT_TOPICS
from monitor.ops.verdict import Seen, Snapshot
from monitor.settings import Settings
from monitor.store.client import RedisMapping
from monitor.store.keys import OPS_HISTORY_TTL_S, Keys

# The consumer groups of a namespace and the topics each reads.
GROUP_TOPICS: Final[Mapping[str, tuple[str, ...]]] = {
    "worker": INPUT_TOPICS,
    "notifier": (ALERTS,),
}


@dataclass(frozen=True, slots=True)
class Member:
    member_id: str
    client_id: str
    host: str


@dataclass(frozen=True, slots=True)
class PartitionRead:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    end: int

    @property
    def name(self) -> str:
        return f"{self.topic}:{self.partition}"

    @property
    def lag(self) -> int:
        return max(0, self.end - (self.committed or 0))


@dataclass(frozen=True, slots=True)
class GroupRead:
    role: str
    group_id: str
    state: str
    members: tuple[Member, ...]
    partitions: tuple[PartitionRead, ...]


def _members(described: Sequence[Any], group_id: str) -> tuple[str, tuple[Member, ...]]:
    for response in described:
        for group in response.to_object()["groups"]:
            if group["group"] != group_id:
                continue
            members = tuple(
                Member(m["member_id"], m["client_id"], m["client_host"]) for m in group["members"]
            )
            return str(group["state"]), members
    return "Unknown", ()


async def read_group(
    settings: Settings, admin: AIOKafkaAdminClient, ends: AIOKafkaConsumer, role: str
) -> GroupRead:
    """Members, and per partition of the group's topics: committed and end offsets."""
    group_id = settings.group_id(role)
    state, members = _members(await admin.describe_consumer_groups([group_id]), group_id)
    # The admin client in hand, not topic_partitions (a client per call): the sampler asks often.
    names = [settings.topic(name) for name in GROUP_TOPICS[role]]
    described = await admin.describe_topics(names)
    tps = sorted(
        (
            TopicPartition(d["topic"], p["partition"])
            for d in described
            if d.get("error_code", 0) == 0
            for p in d["partitions"]
        ),
        key=lambda tp: (names.index(tp.topic), tp.partition),
    )
    committed = await admin.list_consumer_group_offsets(group_id, partitions=tps) if tps else {}
    end = await ends.end_offsets(tps) if tps else {}
    partitions = []
    for tp in tps:
        meta = committed.get(tp)
        offset = meta.offset if meta is not None and meta.offset >= 0 else None
        partitions.append(PartitionRead(tp.topic, tp.partition, offset, end.get(tp, 0)))
    return GroupRead(role, group_id, state, members, tuple(partitions))


async def oldest_waiting_ms(
    consumer: AIOKafkaConsumer, parts: Sequence[PartitionRead]
) -> int | None:
    """Timestamp of the oldest record a group has not committed past (one fetch per partition)."""
    waiting = [p for p in parts if p.lag > 0]
    if not waiting:
        return None
    tps = [TopicPartition(p.topic, p.partition) for p in waiting]
    consumer.assign(tps)
    for p, tp in zip(waiting, tps, strict=True):
        consumer.seek(tp, p.committed or 0)
    stamps: dict[TopicPartition, int] = {}
    for _ in range(10):  # a few polls: each partition's first record, not the whole backlog
        got = await consumer.getmany(*[tp for tp in tps if tp not in stamps], timeout_ms=500)
        for tp, records in got.items():
            if records and tp not in stamps:
                stamps[tp] = records[0].timestamp
        if len(stamps) == len(tps):
            break
    return min(stamps.values()) if stamps else None


@dataclass(frozen=True, slots=True)
class Progress:
    """The worker's progress as Redis holds it."""

    watermark_ms: int
    first_ms: int | None
    partition_watermarks: dict[str, int]
    detect_minute: int | None
    detect_step: int | None
    refreshed: str | None
    deadletters: dict[str, int]


def _int(raw: Any) -> int | None:
    return None if raw is None else int(raw)


async def read_progress(redis: aioredis.Redis, keys: Keys) -> Progress:
    pipe = redis.pipeline(transaction=False)
    pipe.get(keys.watermark)
    pipe.get(keys.first_event)
    pipe.hgetall(keys.partition_watermarks)
    pipe.get(keys.detect_minute)
    pipe.get(keys.detect_step)
    pipe.hget(keys.refreshed, "progress")
    pipe.hgetall(keys.deadletter_counts)
    wm, first, pwm, minute, step, refreshed, dead = await pipe.execute()
    return Progress(
        watermark_ms=_int(wm) or 0,
        first_ms=_int(first),
        partition_watermarks={str(k): int(v) for k, v in pwm.items()},
        detect_minute=_int(minute),
        detect_step=_int(step),
        refreshed=None if refreshed is None else str(refreshed),
        deadletters={str(k): int(v) for k, v in dead.items()},
    )


class History:
    """``monitor status``' memory in Redis, so one-shot runs (cron, a shell) see stalls too."""

    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    async def seen(self) -> dict[str, Seen]:
        raw = await self._redis.hgetall(self._keys.ops_seen)
        out = {}
        for field, value in raw.items():
            committed, _, since = str(value).partition(":")
            out[str(field)] = Seen(int(committed), int(since))
        return out

    async def save_seen(self, seen: Mapping[str, Seen]) -> None:
        if not seen:
            return
        mapping = {k: f"{s.committed}:{s.since_ms}" for k, s in seen.items()}
        pipe = self._redis.pipeline(transaction=False)
        pipe.hset(self._keys.ops_seen, mapping=cast(RedisMapping, mapping))
        pipe.expire(self._keys.ops_seen, OPS_HISTORY_TTL_S)
        await pipe.execute()

    async def snapshots(self) -> list[Snapshot]:
        raw = await self._redis.get(self._keys.ops_deadletter_snapshots)
        return [Snapshot(int(at), totals) for at, totals in orjson.loads(raw)] if raw else []

    async def save_snapshots(self, snapshots: Sequence[Snapshot]) -> None:
        body = orjson.dumps([[s.at_ms, dict(s.totals)] for s in snapshots])
        await self._redis.set(self._keys.ops_deadletter_snapshots, body, ex=OPS_HISTORY_TTL_S)
