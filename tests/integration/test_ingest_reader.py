"""IngestReader on the real broker: every record once and in order, commits, a graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import partial

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from monitor.ingest.plan import RawRecord
from monitor.ingest.reader import IngestReader
from monitor.kafka.clients import group_consumer_options
from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.settings import Settings
from schemas.events import TOPIC_KIND
from tests.helpers import end_offsets, produce, wait_for

pytestmark = pytest.mark.integration


Process = Callable[[Sequence[RawRecord]], Awaitable[None]]


def _reader(settings: Settings, process: Process, batch_max: int = 100) -> IngestReader:
    return IngestReader(
        lambda: AIOKafkaConsumer(**group_consumer_options(settings, "worker")),
        kinds={settings.topic(name): TOPIC_KIND[name] for name in INPUT_TOPICS},
        process=process,
        batch_max=batch_max,
        within_s=0.05,
    )


async def _committed(settings: Settings, ends: dict[str, int]) -> dict[str, int]:
    """The group's committed offset of each ``topic:partition`` in ``ends``."""
    tps = [TopicPartition(t, int(p)) for t, p in (k.rsplit(":", 1) for k in ends)]
    consumer = AIOKafkaConsumer(**group_consumer_options(settings, "worker"))
    await consumer.start()
    try:
        return {f"{tp.topic}:{tp.partition}": await consumer.committed(tp) or 0 for tp in tps}
    finally:
        await consumer.stop()


async def _produce_numbered(settings: Settings, n: int) -> None:
    topics = list(TOPIC_KIND)
    await produce(
        settings,
        [(topics[i % 3], f"c{i % 7}".encode(), str(i).encode()) for i in range(n)],
    )


async def test_every_record_once_in_order_in_bounded_batches_then_committed(
    settings: Settings,
) -> None:
    await create_topics(settings)
    await _produce_numbered(settings, 1000)
    batches: list[list[RawRecord]] = []

    async def process(records: Sequence[RawRecord]) -> None:
        batches.append(list(records))

    reader = _reader(settings, process, batch_max=100)
    task = asyncio.create_task(reader.run())
    await wait_for(
        partial(_reached, lambda: sum(map(len, batches)), 1000), timeout=60, what="1000 records"
    )
    await reader.stop()
    await task

    records = [r for b in batches for r in b]
    assert sorted(int(r.value or b"") for r in records) == list(range(1000))  # once each
    assert all(len(b) <= 100 for b in batches)
    assert all(r.kind == TOPIC_KIND[r.topic.removeprefix(settings.namespace)] for r in records)
    per_partition: dict[tuple[str, int], list[int]] = {}
    for r in records:
        per_partition.setdefault((r.topic, r.partition), []).append(r.offset)
    assert all(offsets == sorted(offsets) for offsets in per_partition.values())

    ends = await end_offsets(settings, INPUT_TOPICS)
    assert await _committed(settings, ends) == ends


async def test_a_restarted_reader_goes_on_from_the_commits(settings: Settings) -> None:
    await create_topics(settings)
    await _produce_numbered(settings, 300)
    seen: list[int] = []

    async def process(records: Sequence[RawRecord]) -> None:
        seen.extend(int(r.value or b"") for r in records)

    for produced in (300, 600):
        reader = _reader(settings, process)
        task = asyncio.create_task(reader.run())
        await wait_for(
            partial(_reached, seen.__len__, produced), timeout=60, what=f"{produced} records"
        )
        await reader.stop()
        await task
        if produced == 300:
            await produce(
                settings, [("social.posts", b"c1", str(i).encode()) for i in range(300, 600)]
            )
    assert sorted(seen) == list(range(600))  # nothing read twice, nothing skipped


async def test_stop_lets_the_batch_in_hand_finish_and_commits_it(settings: Settings) -> None:
    await create_topics(settings)
    await _produce_numbered(settings, 50)
    started, release = asyncio.Event(), asyncio.Event()
    done: list[int] = []

    async def process(records: Sequence[RawRecord]) -> None:
        started.set()
        await release.wait()
        done.extend(int(r.value or b"") for r in records)

    reader = _reader(settings, process, batch_max=1000)
    task = asyncio.create_task(reader.run())
    await asyncio.wait_for(started.wait(), 60)
    stopping = asyncio.create_task(reader.stop())
    await asyncio.sleep(0.3)
    assert not stopping.done()  # waits for the batch in hand
    release.set()
    await asyncio.wait_for(stopping, 30)
    await task
    ends = await end_offsets(settings, INPUT_TOPICS)
    assert len(done) == sum(ends.values())
    assert await _committed(settings, ends) == ends


async def test_stop_before_run_returns_at_once(settings: Settings) -> None:
    async def process(records: Sequence[RawRecord]) -> None:
        raise AssertionError("nothing may be read")

    reader = _reader(settings, process)
    await asyncio.wait_for(reader.stop(), 1)
    await asyncio.wait_for(reader.run(), 1)


async def _reached(size: Callable[[], int], n: int) -> bool:
    return size() >= n
