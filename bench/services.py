"""Benchmark plumbing: a private Redis, namespaced topics, producing, group resets, clean-up."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from monitor.kafka.topics import INPUT_TOPICS, delete_namespace_topics, topic_partitions
from monitor.settings import Settings, load_settings
from monitor.sim.produce import Delivery, RatePacer, Record
from monitor.sim.produce import produce as sim_produce
from monitor.store.keys import namespace_pattern

KAFKA = os.environ.get("BENCH_KAFKA", "127.0.0.1:9092")
SHARED_REDIS = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of one's own on 127.0.0.1 and a free port; it may be stopped and restarted.

    The benchmark and the fault tests both need one; ``args`` say how it keeps (or drops) data.
    """

    def __init__(self, binary: str, args: Sequence[str]) -> None:
        self.binary = binary
        self.args = list(args)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it accepts connections."""
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: redis writes its append-only file, if any, and exits
            self.proc.wait(20)


class PrivateRedis(RedisServer):
    """A throw-away redis-server, started at once, so command counts and CPU are the worker's alone.

    The shared Redis on 6379 also serves other people's tests; its INFO counters would mix them in.
    """

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: pass --redis URL to use a running one")
        self._dir = tempfile.mkdtemp(prefix="bench-redis-")
        super().__init__(
            binary,
            ["--save", "", "--appendonly", "no", "--dir", self._dir, "--protected-mode", "no"],
        )
        self.start()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self._dir, ignore_errors=True)


def bench_settings(namespace: str, redis_url: str, partitions: int) -> Settings:
    return load_settings(
        environ={
            "MONITOR_NAMESPACE": namespace,
            "MONITOR_KAFKA": KAFKA,
            "MONITOR_REDIS": redis_url,
            "MONITOR_TOPIC_PARTITIONS": str(partitions),
        }
    )


async def delete_namespace(settings: Settings, redis: aioredis.Redis | None) -> None:
    """Delete the namespace's topics (the faust internal ones too) and its Redis keys."""
    await delete_namespace_topics(settings)
    if redis is not None:
        await wipe_redis(redis, settings.namespace)


async def wipe_redis(redis: aioredis.Redis, namespace: str) -> None:
    batch: list[str] = []
    async for key in redis.scan_iter(match=namespace_pattern(namespace), count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await redis.unlink(*batch)
            batch.clear()
    if batch:
        await redis.unlink(*batch)


async def input_partitions(settings: Settings) -> list[TopicPartition]:
    names = sorted(settings.topic(t) for t in INPUT_TOPICS)
    return [TopicPartition(n, p) for n in names for p in await topic_partitions(settings, n)]


async def end_offsets(settings: Settings, tps: Sequence[TopicPartition]) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(list(tps))
    finally:
        await consumer.stop()
    return {f"{tp.topic}:{tp.partition}": off for tp, off in ends.items()}


async def reset_group(settings: Settings, tps: Sequence[TopicPartition]) -> None:
    """Rewind the worker's consumer group to offset 0 (no member may be running)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka,
        group_id=settings.group_id("worker"),
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        consumer.assign(list(tps))
        await consumer.commit({tp: OffsetAndMetadata(0, "") for tp in tps})
    finally:
        await consumer.stop()


async def produce(
    settings: Settings,
    records: Iterable[tuple[str, bytes, bytes]],
    *,
    rate: float | None = None,
    want_metadata: bool = False,
) -> tuple[int, float, list[Any]]:
    """Send (contract topic, key, value) records; returns count, seconds and, if asked, metadata.

    ``rate`` paces the feed (events/s, checked every 20 records). Acks from the leader only and
    big batches: the benchmark loads the topics, it does not test the producer.
    """
    delivery = Delivery(
        acks=1,
        linger_ms=5 if rate else 50,
        max_batch_size=256 * 1024,
        max_request_size=4 * 1024 * 1024,
        window=20_000,
    )
    pacer = RatePacer(rate, every=20) if rate else None
    done = await sim_produce(
        settings,
        (Record(*record) for record in records),
        pacer=pacer,
        delivery=delivery,
        want_metadata=want_metadata,
    )
    return done.count, done.seconds, done.metadata


def tmp_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="bench-run-"))
    return path
