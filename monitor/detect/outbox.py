"""The detector's outbox (I/O): alerts committed with the detector state, then sent to Kafka.

A pass writes its state, its cursors and its alerts in one transaction, so a crash either keeps
all three or none. Sending comes after: a failed send leaves the records in the outbox for the
next flush, and a delivered marker per record keeps a flush (a restart, a new leader) from
re-sending what already reached Kafka.

Silences are judged here, once per flush and just before sending, so every consumer (the topic,
the web view's stream, the notifier) sees the same ``silenced_by`` mark.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from monitor.ingest.pipeline import Sender
from monitor.kafka.topics import ALERTS
from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.silence.model import silencing
from monitor.silence.store import SilenceStore
from monitor.store.client import RedisMapping
from monitor.store.keys import ALERT_STREAM_MAXLEN, DETECT_SENT_TTL_S, Keys
from schemas.codec import dumps, loads
from schemas.records import Alert

log = get_logger(__name__)


class Outbox:
    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        keys: Keys,
        settings: Settings,
        sender: Sender,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self._redis = redis
        self._silences = SilenceStore(redis, keys)
        self._wall_ms = wall_ms
        self._k = keys
        self._topic = settings.topic(ALERTS)
        self._sender = sender
        self._flushing = asyncio.Lock()

    async def commit(
        self,
        states: Mapping[str, Mapping[str, str]],
        cursors: Mapping[str, int],
        alerts: Sequence[Alert],
    ) -> None:
        """Hashes of detector state, pass cursors and the pass's alerts, in one transaction."""
        pipe = self._redis.pipeline(transaction=True)
        for key, fields in states.items():
            if fields:
                pipe.hset(key, mapping=cast(RedisMapping, fields))
        for key, value in cursors.items():
            pipe.set(key, value)
        if alerts:
            pipe.rpush(self._k.detect_outbox, *[a.to_json() for a in alerts])
        await pipe.execute()

    async def flush(self) -> int:
        """Send every record in the outbox not sent before; returns how many were sent."""
        # the brand and creator passes flush from their own timers: one flush at a time, or both
        # could send the same alert before either marked it sent
        async with self._flushing:
            return await self._flush()

    async def _flush(self) -> int:
        raw: list[str] = await self._redis.lrange(self._k.detect_outbox, 0, -1)  # type: ignore[assignment]  # decode_responses=True
        if not raw:
            return 0
        fresh = await self._unsent(raw)
        await self._mark_silenced([alert for _, alert in fresh])
        await self._sender.send_many(
            [
                (self._topic, (a["brand"] or a["creator_id"] or "").encode(), dumps(a))
                for _, a in fresh
            ]
        )
        pipe = self._redis.pipeline(transaction=True)
        for marker, alert in fresh:
            pipe.sadd(self._k.detect_sent, marker)
            pipe.xadd(
                self._k.alerts_stream,
                {"alert": dumps(alert)},
                maxlen=ALERT_STREAM_MAXLEN,
                approximate=True,
            )
        pipe.expire(self._k.detect_sent, DETECT_SENT_TTL_S)
        # records pushed since the read above stay for the next flush
        pipe.ltrim(self._k.detect_outbox, len(raw), -1)
        await pipe.execute()
        for _, alert in fresh:
            log.info(
                "alert",
                alert_id=alert["alert_id"],
                status=alert["status"],
                brand=alert["brand"],
                creator=alert["creator_id"],
                severity=alert["severity"],
                silenced_by=alert.get("silenced_by"),
            )
        return len(fresh)

    async def _mark_silenced(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Mark each alert an active silence matches (Slack is then spared it, the record not)."""
        if not alerts:
            return
        now_ms = self._wall_ms()
        active = await self._silences.active(now_ms)
        for alert in alerts:
            silence_id = silencing(active, Alert(**alert), now_ms) if active else None
            if silence_id is not None:
                alert["silenced_by"] = silence_id

    async def _unsent(self, raw: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
        """The outbox's records with their delivered markers, minus those already delivered."""
        fresh: list[tuple[str, dict[str, Any]]] = []
        for item in raw:
            alert = loads(item)
            marker = Alert(**alert).delivery_marker
            if not await self._redis.sismember(self._k.detect_sent, marker):
                fresh.append((marker, alert))
        return fresh
