"""Test plumbing for the real services: processes, producers, waiting for the worker to catch up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from monitor.settings import Settings
from monitor.store.keys import Keys

REPO = Path(__file__).resolve().parent.parent
MONITOR = [sys.executable, "-m", "monitor"]


def env_for(settings_env: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(settings_env)
    env.setdefault("MONITOR_LOG_FORMAT", "json")
    return env


class Proc:
    """A monitor subprocess with its output in a log file."""

    def __init__(self, args: list[str], env: Mapping[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.popen = subprocess.Popen(
            [*MONITOR, *args], env=dict(env), stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO
        )

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 30) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.popen.returncode

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


async def wait_for(
    check: Callable[[], Awaitable[Any]],
    *,
    timeout: float = 60,
    interval: float = 0.2,
    what: str = "",
) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check} (last: {last!r})")


async def produce(
    settings: Settings,
    records: Iterable[tuple[str, bytes | None, bytes | None]],
) -> None:
    """Produce (contract topic, key, value) records in order, acks=all."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [
            await producer.send(settings.topic(topic), value=value, key=key)
            for topic, key, value in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def event_records(events: Iterable[tuple[str, dict[str, Any]]]) -> list[tuple[str, bytes, bytes]]:
    return [(t, e["creator_id"].encode(), orjson.dumps(e)) for t, e in events]


async def end_offsets(settings: Settings, topics: Iterable[str]) -> dict[str, int]:
    """End offset of every non-empty partition of the topics, keyed ``topic:partition``."""
    names = [settings.topic(t) for t in topics]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
    finally:
        await admin.close()
    tps = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if d.get("error_code", 0) == 0
        for p in d["partitions"]
    ]
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
        return {f"{tp.topic}:{tp.partition}": off for tp, off in ends.items() if off > 0}
    finally:
        await consumer.stop()


async def read_topic(settings: Settings, topic: str, *, timeout_ms: int = 2000) -> list[Any]:
    """Every record on a topic from the beginning (no group), as ConsumerRecords."""
    consumer = AIOKafkaConsumer(
        settings.topic(topic),
        bootstrap_servers=settings.kafka,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    try:
        out: list[Any] = []
        while True:
            batch = await consumer.getmany(timeout_ms=timeout_ms)
            if not batch:
                return out
            for records in batch.values():
                out.extend(records)
    finally:
        await consumer.stop()


async def wait_caught_up(
    redis: Any, settings: Settings, topics: Iterable[str], timeout: float = 90
) -> None:
    """Until the worker has applied every record on the topics and refreshed its leaderboards."""
    keys = Keys(settings.redis_prefix)
    topics = list(topics)

    async def applied_all() -> bool:
        ends = await end_offsets(settings, topics)
        done = await redis.hgetall(keys.offsets)
        return all(int(done.get(tp, -1)) >= end - 1 for tp, end in ends.items())

    await wait_for(applied_all, timeout=timeout, interval=0.5, what="worker to apply every record")

    async def refreshed() -> bool:
        wm = await redis.get(keys.watermark)
        applied, late = await redis.hmget(keys.stats, ["applied", "late"])
        progress = f"{wm or 0}:{applied or 0}:{late or 0}"
        return bool(progress == await redis.hget(keys.refreshed, "progress"))

    await wait_for(refreshed, timeout=30, interval=0.3, what="leaderboards to be refreshed")
