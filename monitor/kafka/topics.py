"""The contract's Kafka topics and their creation (idempotent)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Final

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from monitor.kafka.clients import kafka_client_options
from monitor.logs import get_logger
from monitor.settings import Settings

log = get_logger(__name__)

POSTS: Final = "social.posts"
COMMENTS: Final = "social.comments"
AUDIENCE: Final = "social.audience"
RULES: Final = "monitor.rules"
ALERTS: Final = "monitor.alerts"
DEADLETTER: Final = "monitor.deadletter"
INPUT_TOPICS: Final = (POSTS, COMMENTS, AUDIENCE)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    compacted: bool = False
    partitions: int | None = None  # None: from settings


CONTRACT_TOPICS: Final = (
    TopicSpec(POSTS),
    TopicSpec(COMMENTS),
    TopicSpec(AUDIENCE),
    TopicSpec(RULES, compacted=True, partitions=1),
    TopicSpec(ALERTS),
    TopicSpec(DEADLETTER),
)


async def create_topics(settings: Settings, *, log_append_time: bool = False) -> list[str]:
    """Create whatever contract topics are missing; returns the names created.

    ``log_append_time``: the broker stamps records on the non-compacted topics, so a benchmark
    measures append-to-alert latency on one clock.
    """
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), request_timeout_ms=30_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = []
        for spec in CONTRACT_TOPICS:
            name = settings.topic(spec.name)
            if name in existing:
                continue
            configs = {"cleanup.policy": "compact"} if spec.compacted else {}
            if log_append_time and not spec.compacted:
                configs["message.timestamp.type"] = "LogAppendTime"
            wanted.append(
                NewTopic(
                    name=name,
                    num_partitions=spec.partitions or settings.topic_partitions,
                    replication_factor=settings.topic_replication,
                    topic_configs=configs,
                )
            )
        created = []
        for topic in wanted:
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another worker won the race
        if created:
            log.info("topics created", topics=created)
        return created
    finally:
        await admin.close()


async def delete_namespace_topics(settings: Settings) -> None:
    """Delete every topic of the settings' namespace (faust's internal ones too)."""
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), request_timeout_ms=30_000)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(settings.namespace)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


async def topic_partitions(settings: Settings, name: str) -> list[int]:
    """Partition ids of a (namespaced) topic; empty when it does not exist.

    A group-less consumer never learns a topic's partitions by itself (its metadata only covers
    what it subscribed to), so ask the cluster through the admin client.
    """
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), request_timeout_ms=30_000)
    await admin.start()
    try:
        described = await admin.describe_topics([name])
    finally:
        await admin.close()
    return sorted(
        p["partition"] for d in described if d.get("error_code", 0) == 0 for p in d["partitions"]
    )


class EndOffsets:
    """End offsets of every input partition, for telling a caught-up partition from a lagging one.

    One group-less consumer, started lazily; the partition list is re-read every few minutes so
    partitions added to a topic are seen.
    """

    REFRESH_S = 300.0

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._consumer: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []
        self._listed_at = 0.0
        self._lock = asyncio.Lock()  # the brand and creator detectors ask from two timers

    async def __call__(self) -> dict[str, int]:
        async with self._lock:
            return await self._ends()

    async def _ends(self) -> dict[str, int]:
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(
                **kafka_client_options(self._settings), group_id=None, enable_auto_commit=False
            )
            await self._consumer.start()
        now = time.monotonic()
        if not self._tps or now - self._listed_at > self.REFRESH_S:
            tps = []
            for name in INPUT_TOPICS:
                topic = self._settings.topic(name)
                tps += [
                    TopicPartition(topic, p) for p in await topic_partitions(self._settings, topic)
                ]
            self._tps, self._listed_at = tps, now
        ends = await self._consumer.end_offsets(self._tps)
        return {f"{tp.topic}:{tp.partition}": off for tp, off in ends.items()}

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
