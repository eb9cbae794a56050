"""Comparing whole table states across runs, and services of a test's own (for fault injection)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from monitor.keys import Keys
from monitor.metrics import SORTABLE_METRICS
from monitor.settings import Settings
from monitor.tables import Tables
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    """A redis-server of the test's own, with an append-only file so a stop keeps the data."""

    def __init__(self, workdir: Path, *, extra: list[str] | None = None) -> None:
        self.port = free_port()
        self.dir = workdir
        self.extra = extra or []
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                *self.extra,
            ],
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
        raise RuntimeError(f"redis on {self.port} did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # redis saves the AOF on SIGTERM
            self.proc.wait(20)


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
