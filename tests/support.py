"""Comparing whole table states across runs, and services of a test's own (for fault injection)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from bench.services import RedisServer
from bench.services import free_port as free_port  # re-exported for the tests
from monitor.core.metrics import SORTABLE_METRICS
from monitor.settings import Settings
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from tests.helpers import REPO

BOARD_METRICS = ("followers", "growth_24h_pct", "interactions_24h", "comments_24h", "sentiment_24h")


async def table_state(redis: aioredis.Redis, settings: Settings) -> dict[str, Any]:
    """Every creator's and community's metrics, full leaderboards and counters, at the watermark."""
    keys = Keys(settings.redis_prefix)
    tables = Tables(redis, keys, settings)
    now = await tables.watermark()
    creators = await tables.all_creator_ids()
    docs = {c: await tables.creator(c, now_ms=now) for c in creators}
    communities = {g: await tables.community(g, now_ms=now) for g in await tables.communities()}
    boards = {
        m: [d["creator_id"] for d in await tables.top_creators(sort=m, limit=500)]
        for m in BOARD_METRICS
    }
    assert set(BOARD_METRICS) <= set(SORTABLE_METRICS)
    stats = await redis.hgetall(keys.stats)
    return {
        "watermark": now,
        "creators": docs,
        "communities": communities,
        "boards": boards,
        "stats": {k: int(v) for k, v in stats.items()},
        "deadletters": await redis.hgetall(keys.deadletter_counts),
    }


class OwnRedis(RedisServer):
    """A redis-server of the test's own, with an append-only file so a stop keeps the data."""

    def __init__(self, workdir: Path, *, extra: list[str] | None = None) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        durable = ["--dir", str(workdir), "--appendonly", "yes", "--appendfsync", "always"]
        super().__init__(binary, [*durable, "--save", "", *(extra or [])])


class OwnKafka:
    """A second Apache Kafka broker on its own ports, via scripts/services, for restart tests."""

    def __init__(self) -> None:
        self.port = 19392
        self.env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_CONTROLLER_PORT": "19393"}

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self, action: str) -> None:
        subprocess.run(
            [str(REPO / "scripts/services"), action, "kafka"],
            env=self.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self._run("up")

    def stop(self) -> None:
        self._run("down")


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)
