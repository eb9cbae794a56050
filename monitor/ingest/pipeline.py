"""One batch through the monitor: plan (pure) → dead letters and re-keys out → Redis.

The reader calls ``IngestPipeline.process``; it never raises for bad input. A failure tied to the
records (an exception planning or applying them, a script error) splits the batch in halves until
the failing records stand alone: the others are applied, those become ``internal_error`` dead
letters with the real reason. Outages (Redis or the broker away) are waited out instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from monitor.ingest.plan import (
    BatchPlan,
    MentionMatcher,
    RawRecord,
    Rekey,
    dead_letter,
    plan_batch,
)
from monitor.kafka.topics import DEADLETTER
from monitor.logs import get_logger
from monitor.ops.metrics import Metrics
from monitor.retry import retry
from monitor.settings import Settings
from monitor.store.apply import TableStore
from schemas.events import Rejection, format_time_ms
from schemas.records import DEADLETTER_MAX_BYTES, DeadLetter

log = get_logger(__name__)

Outgoing = tuple[str, bytes | None, bytes]
Position = tuple[str, int | None, int | None]  # topic, partition, offset of an input record

# Refusals for size: the same records fail the same way every time, so they are cut, not retried.
TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)
# Below this a dead letter is its reason and position alone: any broker takes that.
_CUT_FLOOR_BYTES = 2048


class Sender(Protocol):
    async def send_many(self, records: Sequence[Outgoing]) -> None:
        """Produce records and wait until the broker has them all."""


class SendRefusedError(Exception):
    """Kafka refused records as too large: retrying cannot help (not a KafkaError on purpose)."""


@dataclass(slots=True)
class _Settled:
    """What the halves of one batch did, and which records' letters are already on the topic."""

    sent: set[Position] = field(default_factory=set)
    applied: int = 0
    isolated: int = 0


class IngestPipeline:
    def __init__(
        self,
        *,
        settings: Settings,
        store: TableStore,
        sender: Sender,
        matcher: Callable[[], MentionMatcher],
        sentiment: Callable[[str], int],
        metrics: Metrics | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._sender = sender
        self._matcher = matcher
        self._sentiment = sentiment
        self._metrics = metrics or Metrics()
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
        settled = _Settled()
        await self._settle(records, settled)
        log.debug(
            "batch",
            records=len(records),
            applied=settled.applied,
            isolated=settled.isolated,
            took_s=round(time.perf_counter() - started, 4),
        )

    def _plan(self, records: Sequence[RawRecord]) -> BatchPlan:
        return plan_batch(
            records,
            watermark_ms=self._watermark,
            wall_ms=int(time.time() * 1000),
            future_tolerance_ms=self._settings.future_tolerance_s * 1000,
            matcher=self._matcher(),
            sentiment=self._sentiment,
        )

    async def _settle(self, records: Sequence[RawRecord], settled: _Settled) -> None:
        """Plan, emit and apply ``records``; on a failure tied to them, each half on its own.

        Halves keep the batch's order (partition by partition, offsets rising), so each half's
        offsets follow the previous half's and the offset guard sees every record once.
        """
        started = time.perf_counter()
        try:
            plan = self._plan(records)
        except Exception as exc:  # a bug of ours planning some record: find which
            await self._split(records, settled, "plan", exc)
            return
        # Dead letters reach the topic before Redis counts them (and before the reader commits).
        planned = time.perf_counter()
        await self._emit(plan, settled.sent)
        applying = time.perf_counter()
        try:
            result = await self._store.apply(plan)  # outages are retried inside
        except Exception as exc:  # a script error, an encoding error: tied to some record
            settled.sent.update((d.topic, d.partition, d.offset) for d in plan.dead_letters)
            settled.sent.update((r.topic, r.partition, r.offset) for r in plan.rekeyed)
            await self._split(records, settled, "apply", exc)
            return
        settled.applied += result.applied
        self._metrics.batch(
            records=len(records),
            plan_s=planned - started,
            apply_s=time.perf_counter() - applying,
            applied=result.applied,
            duplicates=result.duplicates,
            late=result.late,
            dead_codes=(str(d["code"]) for d in plan.dead_index),
        )
        self._watermark = max(self._watermark, result.watermark_ms)

    async def _split(
        self, records: Sequence[RawRecord], settled: _Settled, stage: str, exc: Exception
    ) -> None:
        if len(records) > 1:
            log.warning(
                "batch failed; splitting it to isolate the records",
                stage=stage,
                records=len(records),
                error=type(exc).__name__,
            )
            mid = len(records) // 2
            await self._settle(records[:mid], settled)
            await self._settle(records[mid:], settled)
            return
        rec = records[0]
        settled.isolated += 1
        why = Rejection("internal_error", f"{stage}: {type(exc).__name__}: {str(exc)[:300]}")
        log.error(
            "record failed alone; dead-lettering it",
            stage=stage,
            error=type(exc).__name__,
            topic=rec.topic,
            partition=rec.partition,
            offset=rec.offset,
        )
        await self._emit_letters([dead_letter(rec, why, format_time_ms(int(time.time() * 1000)))])
        # counted (and its offset passed) under the offset guard, like any other dead letter
        plan = BatchPlan(tps=[f"{rec.topic}:{rec.partition}"], last=[rec.offset])
        plan.dead_index.append({"i": 1, "o": rec.offset, "code": why.code})
        try:
            await self._store.apply(plan)
            self._metrics.dead_lettered(why.code)
        except Exception:  # Redis refuses even that (e.g. out of memory): the letter is out
            log.exception("dead letter not counted", offset=rec.offset, partition=rec.partition)

    async def _emit(self, plan: BatchPlan, sent: set[Position]) -> None:
        """Send the plan's dead letters and re-keys, but none a failed try of its batch sent."""
        letters, rekeyed = plan.dead_letters, plan.rekeyed
        if sent:
            letters = [d for d in letters if (d.topic, d.partition, d.offset) not in sent]
            rekeyed = [r for r in rekeyed if (r.topic, r.partition, r.offset) not in sent]
        if rekeyed:
            try:
                await self._send([(r.topic, r.key, r.value) for r in rekeyed])
            except SendRefusedError:
                # Re-keyed one by one would find the culprit; the records are dead letters
                # instead (plan_batch already refuses every re-key over MAX_WRITE_BYTES).
                at = format_time_ms(int(time.time() * 1000))
                why = Rejection("payload_too_large", "Kafka refused it re-keyed")
                for r in rekeyed:
                    src = RawRecord(r.topic, "post", r.partition, r.offset, None, r.value)
                    letters = [*letters, dead_letter(src, why, at)]
                    plan.dead_index.append(
                        {"i": _tp_index(plan, r), "o": r.offset, "code": why.code}
                    )
        if letters:
            await self._emit_letters(letters)

    async def _emit_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Dead letters to the topic; any Kafka refuses as too large are cut and sent again."""
        topic = self._settings.topic(DEADLETTER)
        bound = DEADLETTER_MAX_BYTES
        while True:
            try:
                await self._send([(topic, d.record_key(), d.to_json()) for d in letters])
                break
            except SendRefusedError as exc:
                if bound <= _CUT_FLOOR_BYTES:
                    raise
                bound //= 4
                log.warning(
                    "dead letters refused as too large; cutting", bound=bound, error=str(exc)
                )
                letters = [d.cut(bound) for d in letters]
        # One line per batch: a flood of garbage must not become a flood of log lines.
        # Every record is on the dead-letter topic with its reason and position.
        reasons: dict[str, int] = {}
        for d in letters:
            reasons[d.code] = reasons.get(d.code, 0) + 1
        first = letters[0]
        log.warning(
            "dead letters",
            count=len(letters),
            reasons=reasons,
            first_topic=first.topic,
            first_partition=first.partition,
            first_offset=first.offset,
        )

    async def _send(self, out: Sequence[Outgoing]) -> None:
        """Produce until the broker has it all; a broker restart only delays the batch."""

        async def once() -> None:
            try:
                await self._sender.send_many(out)
            except TOO_LARGE as exc:
                raise SendRefusedError(f"{type(exc).__name__}: {exc}") from exc

        await retry("send", once, transient=(KafkaError,), base_s=0.2)


def _tp_index(plan: BatchPlan, r: Rekey) -> int:
    """The Lua (1-based) index of a re-keyed record's partition in its plan."""
    return plan.tps.index(f"{r.topic}:{r.partition}") + 1
