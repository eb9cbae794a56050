"""A process's ``/metrics`` and ``/healthz`` on ``MONITOR_METRICS_PORT``, and the lag sampler.

The sampler reads the group's committed and end offsets the way ``monitor status`` does (admin
client, a group-less consumer), every few seconds and outside the consume loop, so a loop stuck
in a batch is still judged. ``/healthz`` is 503 while an owned partition is stalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis
from aiohttp import web
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from monitor.core.units import MINUTE_MS
from monitor.kafka.clients import kafka_client_options
from monitor.logs import get_logger
from monitor.ops.metrics import Metrics
from monitor.ops.readers import read_group, read_progress
from monitor.ops.verdict import OK, Seen, Verdict, partition_verdict, steps_behind, track, worst
from monitor.settings import Settings
from monitor.store.keys import DETECT_STEP_MS, Keys

log = get_logger(__name__)

Owned = Callable[[], frozenset[str]]


def owned_by(consumer: AIOKafkaConsumer) -> Owned:
    """The partitions a group consumer holds now, as ``topic:partition`` names."""
    return lambda: frozenset(f"{tp.topic}:{tp.partition}" for tp in consumer.assignment())


class Health:
    """The stall clock of each owned partition, fed by samples; judged when asked."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._seen: dict[str, Seen] = {}
        self._lags: dict[str, int] = {}

    def observe(self, committed: dict[str, int], lags: dict[str, int], now_ms: int) -> None:
        self._seen = {
            name: track(self._seen.get(name), committed=committed[name], lag=lag, now_ms=now_ms)
            for name, lag in lags.items()
        }
        self._lags = dict(lags)

    def verdicts(self, now_ms: int) -> dict[str, Verdict]:
        return {
            name: partition_verdict(
                lag=lag,
                stuck_s=(now_ms - self._seen[name].since_ms) / 1000,
                stall_s=self._settings.stall_s,
                behind_records=self._settings.batch_max,
            )
            for name, lag in self._lags.items()
        }

    def verdict(self, now_ms: int) -> Verdict:
        verdicts = self.verdicts(now_ms)
        bad = worst(verdicts.values())
        if bad.word != "stalled":
            return OK
        names = sorted(n for n, v in verdicts.items() if v.word == "stalled")
        return Verdict("stalled", f"{', '.join(names)}: {bad.reason}")


class OpsEndpoint:
    """Serves the process's metrics and health; off unless ``metrics_port`` is set."""

    def __init__(
        self,
        settings: Settings,
        *,
        role: str,
        metrics: Metrics,
        owned: Owned,
        redis: aioredis.Redis | None = None,
    ) -> None:
        self._settings = settings
        self._role = role
        self._metrics = metrics
        self._owned = owned
        self._redis = redis  # the worker's: steps behind come from its progress in Redis
        self.health = Health(settings)
        self._runner: web.AppRunner | None = None
        self._task: asyncio.Task[None] | None = None
        self.interval_s = min(5.0, max(0.5, settings.stall_s / 4))

    async def start(self) -> None:
        port = self._settings.metrics_port
        if port is None:
            return
        app = web.Application()
        app.router.add_get("/metrics", self._serve_metrics)
        app.router.add_get("/healthz", self._serve_health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._settings.web_host, port).start()
        self._task = asyncio.create_task(self._sample_forever(), name="ops-sampler")
        log.info("metrics serving", port=port, role=self._role)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve_metrics(self, _: web.Request) -> web.Response:
        body = self._metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4"})

    async def _serve_health(self, _: web.Request) -> web.Response:
        verdict = self.health.verdict(int(time.time() * 1000))
        body = orjson.dumps({"status": verdict.word, "reason": verdict.reason})
        status = 503 if verdict.word == "stalled" else 200
        return web.Response(body=body, status=status, content_type="application/json")

    async def _sample_forever(self) -> None:
        opts = kafka_client_options(self._settings)
        admin = AIOKafkaAdminClient(**opts, request_timeout_ms=10_000)
        consumer = AIOKafkaConsumer(**opts, group_id=None, enable_auto_commit=False)
        await admin.start()
        await consumer.start()
        try:
            while True:
                try:
                    await self.sample(admin, consumer)
                except (KafkaError, RedisError, OSError) as exc:
                    # Keep the last verdicts: a stall clock only restarts on progress.
                    log.warning("lag sample failed", error=type(exc).__name__)
                await asyncio.sleep(self.interval_s)
        finally:
            await consumer.stop()
            await admin.close()

    async def sample(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
        """One sample: the owned partitions' lag into the gauges and the stall clocks."""
        group = await read_group(self._settings, admin, consumer, self._role)
        owned = self._owned()
        mine = [p for p in group.partitions if p.name in owned]
        lags = {p.name: p.lag for p in mine}
        committed = {p.name: -1 if p.committed is None else p.committed for p in mine}
        now_ms = int(time.time() * 1000)
        self.health.observe(committed, lags, now_ms)
        stalled = sum(v.word == "stalled" for v in self.health.verdicts(now_ms).values())
        self._metrics.set_lags(lags, stalled=stalled)
        if self._redis is not None:
            progress = await read_progress(self._redis, Keys(self._settings.redis_prefix))
            for detector, cursor, unit_ms in (
                ("brands", progress.detect_minute, MINUTE_MS),
                ("creators", progress.detect_step, DETECT_STEP_MS),
            ):
                behind = steps_behind(
                    watermark_ms=progress.watermark_ms,
                    first_ms=progress.first_ms,
                    cursor=cursor,
                    unit_ms=unit_ms,
                )
                self._metrics.steps_behind.labels(detector).set(behind)
