"""The contract's Kafka topics and their creation (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from monitor.clients import kafka_client_options
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


async def create_topics(settings: Settings) -> list[str]:
    """Create whatever contract topics are missing; returns the names created."""
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
