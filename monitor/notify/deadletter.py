"""The notifier's dead letters: alert records that will never reach Slack.

Each one is built by ``DeadLetter.quoting``, the same builder ingest uses, so both bound their
size the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Final

import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from redis.exceptions import RedisError

from monitor.kafka.topics import DEADLETTER
from monitor.logs import get_logger
from monitor.notify.dispatch import SourceRecord
from monitor.notify.slack import Verdict
from monitor.settings import Settings
from monitor.store.keys import Keys
from schemas.events import format_time_ms
from schemas.records import DeadLetter

log = get_logger(__name__)

CODE_PERMANENT: Final = "slack_permanent"
CODE_EXHAUSTED: Final = "slack_retry_exhausted"
CODE_MALFORMED: Final = "malformed_alert"


def undelivered_code(verdict: Verdict) -> str:
    """Why Slack never got it: refused for good, or still failing at the retry bound."""
    return CODE_PERMANENT if verdict.kind == "permanent" else CODE_EXHAUSTED


class DeadLetters:
    """Sends dead letters, acked by Kafka, and counts them for the web view."""

    __slots__ = ("_keys", "_producer", "_redis", "_topic", "sent")

    def __init__(
        self, *, settings: Settings, producer: AIOKafkaProducer, redis: aioredis.Redis, keys: Keys
    ) -> None:
        self._producer = producer
        self._redis = redis
        self._keys = keys
        self._topic = settings.topic(DEADLETTER)
        self.sent = 0

    async def send(self, records: Sequence[SourceRecord], code: str, reason: str) -> None:
        at = format_time_ms(int(time.time() * 1000))
        futures = []
        for record in records:
            letter = DeadLetter.quoting(record, code=code, reason=reason, at=at)
            futures.append(
                await self._producer.send(self._topic, letter.to_json(), key=letter.record_key())
            )
        await asyncio.gather(*futures)
        self.sent += len(records)
        log.error("alerts dead-lettered", code=code, reason=reason, records=len(records))
        with contextlib.suppress(RedisError, OSError):  # a count for the web view, best effort
            await self._redis.hincrby(self._keys.deadletter_counts, code, len(records))
