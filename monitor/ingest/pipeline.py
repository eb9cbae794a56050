"""One batch through the monitor: plan (pure) → dead letters and re-keys out → Redis.

Agents call ``IngestPipeline.process``; it never raises for bad input, and a failure of our own code
turns the batch into dead letters rather than silently acking it away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from monitor.ingest.plan import BatchPlan, MentionMatcher, RawRecord, plan_batch
from monitor.kafka.topics import DEADLETTER
from monitor.logs import get_logger
from monitor.retry import retry
from monitor.settings import Settings
from monitor.store.apply import TableStore
from schemas.events import Rejection, format_time_ms
from schemas.records import DeadLetter

log = get_logger(__name__)

Outgoing = tuple[str, bytes | None, bytes]


class Sender(Protocol):
    async def send_many(self, records: Sequence[Outgoing]) -> None:
        """Produce records and wait until the broker has them all."""


class IngestPipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        store: TableStore,
        sender: Sender,
        matcher: Callable[[], MentionMatcher],
        sentiment: Callable[[str], int],
    ) -> None:
        self._settings = settings
        self._store = store
        self._sender = sender
        self._matcher = matcher
        self._sentiment = sentiment
        self._watermark = 0

    async def start(self) -> None:
        self._watermark = await self._store.watermark()

    @property
    def watermark_ms(self) -> int:
        return self._watermark

    async def process(self, records: Sequence[RawRecord]) -> None:
        if not records:
            return
        started = time.perf_counter()
        try:
            plan = plan_batch(
                records,
                watermark_ms=self._watermark,
                wall_ms=int(time.time() * 1000),
                future_tolerance_ms=self._settings.future_tolerance_s * 1000,
                matcher=self._matcher(),
                sentiment=self._sentiment,
            )
        except Exception as exc:  # a bug of ours must not ack records away unseen
            log.exception("batch planning failed; dead-lettering the batch")
            await self._dead_letter_all(records, exc)
            return
        # Faust acks a batch whatever happens in here, so every step either succeeds (retrying
        # what is transient) or turns the records into dead letters: never a silent loss.
        # Dead letters and re-keys travel to Kafka while Redis applies the batch; both are done
        # before the agent's loop moves on (and so before faust can commit these offsets).
        emitted = asyncio.ensure_future(self._emit(plan))
        try:
            result = await self._store.apply(plan)
        except RedisError as exc:  # not transient (retry waits those out): e.g. OOM
            log.exception("batch apply refused by redis; dead-lettering the batch")
            await emitted
            await self._dead_letter_all(records, exc)
            return
        await emitted
        self._watermark = result.watermark_ms
        # The batch script marked its creators' documents due; the refresher recomputes them.
        log.debug(
            "batch",
            records=len(records),
            applied=result.applied,
            took_s=round(time.perf_counter() - started, 4),
        )

    async def _send(self, out: Sequence[Outgoing]) -> None:
        """Produce until the broker has it all; a broker restart only delays the batch."""
        await retry(
            "send", lambda: self._sender.send_many(out), transient=(KafkaError,), base_s=0.2
        )

    async def _emit(self, plan: BatchPlan) -> None:
        out: list[Outgoing] = [
            (self._settings.topic(DEADLETTER), _key(d.key), d.to_json()) for d in plan.dead_letters
        ]
        out.extend((r.topic, r.key, r.value) for r in plan.rekeyed)
        if out:
            await self._send(out)
        if plan.dead_letters:
            # One line per batch: a flood of garbage must not become a flood of log lines.
            # Every record is on the dead-letter topic with its reason and position.
            reasons: dict[str, int] = {}
            for d in plan.dead_letters:
                reasons[d.code] = reasons.get(d.code, 0) + 1
            first = plan.dead_letters[0]
            log.warning(
                "dead letters",
                count=len(plan.dead_letters),
                reasons=reasons,
                first_topic=first.topic,
                first_partition=first.partition,
                first_offset=first.offset,
            )

    async def _dead_letter_all(self, records: Sequence[RawRecord], exc: Exception) -> None:
        why = Rejection("internal_error", type(exc).__name__)
        at = format_time_ms(int(time.time() * 1000))
        letters = [
            DeadLetter.build(
                reason=why.reason,
                code=why.code,
                topic=r.topic,
                partition=r.partition,
                offset=r.offset,
                key=r.key,
                payload=r.value,
                at=at,
            )
            for r in records
        ]
        await self._send(
            [(self._settings.topic(DEADLETTER), _key(d.key), d.to_json()) for d in letters]
        )


def _key(key: str | None) -> bytes | None:
    return None if key is None else key.encode()
