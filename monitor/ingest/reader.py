"""The ingest loop: the input topics, a fetched batch at a time, through the pipeline.

Not a faust agent: faust hands a stream one record at a time (a Message, an Event, sensor calls,
a queue, an ack per record). That was ~27 µs of a record's ~38 µs of worker CPU, and the same
for a bad record as for a good one, so 10 % garbage cost 10 % of the good throughput
(bench/README.md). Read with aiokafka's ``getmany``, a batch pays it once.

Delivery: the pipeline applies a batch to Redis atomically with each partition's offset; only
then are the batch's offsets committed. A crash or a rebalance can make a worker read records
again, and Redis skips offsets it has already applied.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from monitor.ingest.plan import RawRecord
from monitor.kafka.clients import RebalanceCallbacks
from monitor.logs import get_logger
from schemas.events import EventKind

log = get_logger(__name__)

POLL_MS = 500
# A stop waits this long for the batch in hand, then cancels it (an outage can hold it for ever):
# nothing of a cancelled batch is committed, so its records are read again by the next owner.
# With the consumer's and the producer's stops (monitor/kafka/sender.py) a worker is gone < 10 s.
STOP_GRACE_S = 4.0
CONSUMER_STOP_S = 2.0
Fetched = dict[TopicPartition, list[ConsumerRecord]]


def to_raw(fetched: Fetched, kinds: Mapping[str, EventKind]) -> list[RawRecord]:
    """aiokafka's records as the pipeline's, partition by partition in offset order."""
    return [
        RawRecord(
            topic=r.topic,
            kind=kinds[r.topic],
            partition=r.partition,
            offset=r.offset,
            key=r.key,
            value=r.value,
        )
        for records in fetched.values()
        for r in records
    ]


def commit_points(fetched: Fetched) -> dict[TopicPartition, int]:
    """What to commit once ``fetched`` is applied: one past each partition's last offset."""
    return {tp: records[-1].offset + 1 for tp, records in fetched.items() if records}


def owned_only(fetched: Fetched, owned: Iterable[TopicPartition]) -> Fetched:
    """Drop partitions a rebalance took away while the batch filled: their new owner reads them."""
    keep = set(owned)
    return {tp: records for tp, records in fetched.items() if tp in keep}


class IngestReader:
    """Reads batches and hands them to ``process``; ``stop`` lets the batch in hand finish.

    A batch is up to ``batch_max`` records, or what arrived within ``within_s`` of its first
    one. ``consumer`` makes the consumer inside ``run``: aiokafka binds one to the running loop.
    """

    def __init__(
        self,
        consumer: Callable[[], AIOKafkaConsumer],
        *,
        kinds: Mapping[str, EventKind],
        process: Callable[[Sequence[RawRecord]], Awaitable[None]],
        batch_max: int,
        within_s: float,
    ) -> None:
        self._make_consumer = consumer
        self._kinds = kinds
        self._process = process
        self._batch_max = batch_max
        self._within_s = within_s
        self._busy = asyncio.Lock()
        self._stop = asyncio.Event()
        self._idle = asyncio.Event()  # set while ``run`` is not running
        self._idle.set()
        self._task: asyncio.Task[None] | None = None
        self.assigned: frozenset[str] = frozenset()  # ``topic:partition``, for /healthz

    async def _settle(self, _: list[TopicPartition]) -> None:
        """Wait until no batch is between apply and commit (a rebalance must not split one)."""
        async with self._busy:
            pass

    async def _log_assigned(self, assigned: list[TopicPartition]) -> None:
        self.assigned = frozenset(f"{tp.topic}:{tp.partition}" for tp in assigned)
        log.info("input partitions assigned", partitions=sorted(self.assigned))

    async def run(self) -> None:
        if self._stop.is_set():
            return
        self._idle.clear()
        self._task = asyncio.current_task()
        consumer = self._make_consumer()
        listener = RebalanceCallbacks(revoked=self._settle, assigned=self._log_assigned)
        consumer.subscribe(list(self._kinds), listener=listener)
        try:
            await consumer.start()
            while not self._stop.is_set():
                fetched = await self._next_batch(consumer)
                async with self._busy:
                    fetched = owned_only(fetched, consumer.assignment())
                    if not fetched:
                        continue
                    await self._process(to_raw(fetched, self._kinds))
                    await self._commit(consumer, commit_points(fetched))
        except asyncio.CancelledError:
            if not self._stop.is_set():
                raise
            log.warning("stopped with a batch in hand; it was not committed")
        finally:
            try:
                await asyncio.wait_for(consumer.stop(), CONSUMER_STOP_S)
            except (TimeoutError, KafkaError) as exc:
                log.warning("consumer did not stop cleanly", error=type(exc).__name__)
            self._idle.set()

    async def _next_batch(self, consumer: AIOKafkaConsumer) -> Fetched:
        fetched: Fetched = {}
        count = 0
        deadline: float | None = None
        while not self._stop.is_set():
            wait_s = POLL_MS / 1000 if deadline is None else deadline - time.monotonic()
            got = await consumer.getmany(
                timeout_ms=max(0, int(wait_s * 1000)), max_records=self._batch_max - count
            )
            for tp, records in got.items():
                fetched.setdefault(tp, []).extend(records)
                count += len(records)
            if count and deadline is None:
                deadline = time.monotonic() + self._within_s
            if count >= self._batch_max or (deadline is not None and time.monotonic() >= deadline):
                break
        return fetched

    @staticmethod
    async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            # Not committed means read again later; Redis skips offsets it has applied.
            log.warning("offset commit failed; batch may be read again", error=type(exc).__name__)

    async def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """Finish the batch in hand (its offsets committed), or cancel it after ``grace_s``."""
        self._stop.set()
        try:
            await asyncio.wait_for(self._idle.wait(), grace_s)
        except TimeoutError:
            if self._task is not None:
                self._task.cancel()
            await self._idle.wait()
