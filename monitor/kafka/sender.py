"""Produces many records at once: one aiokafka batch per partition instead of a send per record.

A flood of bad input is a flood of dead letters; sent one by one, each cost more than reading the
bad record did (bench/garbage_mix.py). Records go to the partition aiokafka's default partitioner
(Kafka's murmur2) picks, so a re-keyed event lands where a keyed send would have put it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

from monitor.ingest.pipeline import Outgoing
from monitor.kafka.clients import kafka_client_options
from monitor.logs import get_logger
from monitor.settings import Settings

BATCH_BYTES: Final = 512 * 1024
# Stopping flushes what is in flight; with the broker away that could wait for ever, and a worker
# asked to stop must stop (a record not acknowledged is sent again by whoever re-reads its batch).
STOP_S: Final = 2.0
PARTITION_MEMO_MAX: Final = 65_536

log = get_logger(__name__)


class SenderStoppedError(RuntimeError):
    """A send after ``BatchSender.stop``."""


class BatchSender:
    """A ``Sender`` with its own producer, started on first use; refuses to send once stopped.

    Refusing (rather than starting a new producer) matters at shutdown: a detection pass still
    running fails and is redone by the next leader instead of leaving a producer nobody stops.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._partition = DefaultPartitioner()
        self._memo: dict[tuple[bytes, tuple[int, ...]], int] = {}
        self._stopped = False

    async def _started(self) -> AIOKafkaProducer:
        if self._stopped:
            raise SenderStoppedError("the sender was stopped (the worker is shutting down)")
        if self._producer is None:
            producer = AIOKafkaProducer(
                **kafka_client_options(self._settings),
                acks="all",
                max_batch_size=BATCH_BYTES,
                max_request_size=2 * BATCH_BYTES,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def stop(self) -> None:
        self._stopped = True
        if self._producer is not None:
            producer, self._producer = self._producer, None
            try:
                await asyncio.wait_for(producer.stop(), STOP_S)
            except TimeoutError:
                log.warning("producer did not flush in time", waited_s=STOP_S)

    def partition_for(self, key: bytes | None, partitions: tuple[int, ...]) -> int:
        """Kafka's murmur2 choice, remembered per key and partition set.

        murmur2 is pure Python in aiokafka, ~2 µs a key: a fifth of what a dead letter costs us,
        and a flood of them repeats the same creators' keys. A key-less record gets a random
        partition each time, as from the partitioner.
        """
        if key is None:
            return int(self._partition(None, partitions, None))
        memo = (key, partitions)
        part = self._memo.get(memo)
        if part is None:
            if len(self._memo) >= PARTITION_MEMO_MAX:
                self._memo.clear()
            part = self._memo[memo] = int(self._partition(key, partitions, None))
        return part

    async def send_many(self, records: Sequence[Outgoing]) -> None:
        """Produce every record and wait until the broker acknowledged them all."""
        if not records:
            return
        producer = await self._started()
        groups: dict[tuple[str, int], list[tuple[bytes | None, bytes]]] = {}
        partitions: dict[str, tuple[int, ...]] = {}
        for topic, key, value in records:
            if topic not in partitions:
                partitions[topic] = tuple(sorted(await producer.partitions_for(topic)))
            part = self.partition_for(key, partitions[topic])
            groups.setdefault((topic, part), []).append((key, value))
        pending: list[Any] = []
        for (topic, part), items in groups.items():
            batch = producer.create_batch()
            for key, value in items:
                if batch.append(key=key, value=value, timestamp=None) is not None:
                    continue
                if batch.record_count():
                    pending.append(await producer.send_batch(batch, topic, partition=part))
                    batch = producer.create_batch()
                    if batch.append(key=key, value=value, timestamp=None) is not None:
                        continue
                # larger than a batch on its own: a plain send (bounded by max_request_size)
                pending.append(await producer.send(topic, value, key=key, partition=part))
                batch = producer.create_batch()
            if batch.record_count():
                pending.append(await producer.send_batch(batch, topic, partition=part))
        await asyncio.gather(*pending)
