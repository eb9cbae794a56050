"""Fault injection on the real services: Redis stopped, the broker restarted, a worker killed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.settings import Settings, load_settings
from monitor.sim.produce import produce_events
from monitor.sim.traffic import Traffic, generate
from monitor.store.client import make_redis
from monitor.store.keys import Keys
from tests.helpers import Proc, wait_caught_up, wait_for
from tests.support import OwnKafka, OwnRedis, table_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EVENTS = list(generate(Traffic(seed=5, creators=60, hours=20, comments_per_hour=400)))
HALF = len(EVENTS) // 2


async def _clean_run(
    settings_env: dict[str, str], spawn: Callable[..., Proc], namespace: str
) -> dict[str, Any]:
    """The same events through one undisturbed worker, in a namespace of its own."""
    env = {**settings_env, "MONITOR_NAMESPACE": f"{namespace}clean."}
    settings = load_settings(environ=env)
    await create_topics(settings)
    await produce_events(settings, EVENTS)
    spawn("worker", extra_env={"MONITOR_NAMESPACE": env["MONITOR_NAMESPACE"]}, name="clean")
    redis = make_redis(settings)
    try:
        await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=180)
        return await table_state(redis, settings)
    finally:
        async for key in redis.scan_iter(match=f"{settings.namespace}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


async def _applied(redis: Any, settings: Settings) -> int:
    return int(await redis.hget(Keys(settings.redis_prefix).stats, "applied") or 0)


async def test_redis_stopped_for_15s_mid_stream(
    settings_env, namespace, spawn, tmp_path: Path
) -> None:
    own = OwnRedis(tmp_path)
    own.start()
    env = {**settings_env, "MONITOR_REDIS": own.url}
    settings = load_settings(environ=env)
    redis = make_redis(settings)
    try:
        await create_topics(settings)
        await produce_events(settings, EVENTS[:HALF])
        worker = spawn("worker", extra_env={"MONITOR_REDIS": own.url})
        await wait_for(lambda: _applied(redis, settings), timeout=90, what="worker running")
        own.stop()
        await produce_events(settings, EVENTS[HALF:])  # arrives while Redis is away
        await asyncio.sleep(15)
        assert worker.popen.poll() is None, "worker died while Redis was away"
        own.start()
        await redis.aclose()
        redis = make_redis(settings)  # the test's own connections died with the server
        await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=180)
        assert worker.popen.poll() is None
        after = await table_state(redis, settings)
        waited = [
            line
            for line in worker.output().splitlines()
            if '"call failed, retrying"' in line and '"op":"apply_batch"' in line
        ]
        assert waited, "the worker never said it was waiting for Redis"
    finally:
        await redis.aclose()
        own.stop()
    clean = await _clean_run(settings_env, spawn, namespace)
    assert after == clean


async def test_broker_restarted_mid_stream(settings_env, namespace, spawn, redis) -> None:
    kafka = OwnKafka()
    kafka.start()
    env = {**settings_env, "MONITOR_KAFKA": kafka.bootstrap}
    settings = load_settings(environ=env)
    try:
        await create_topics(settings)
        await produce_events(settings, EVENTS[:HALF])
        worker = spawn("worker", extra_env={"MONITOR_KAFKA": kafka.bootstrap})
        await wait_for(lambda: _applied(redis, settings), timeout=90, what="worker running")
        kafka.stop()
        await asyncio.sleep(3)
        kafka.start()
        await produce_events(settings, EVENTS[HALF:])
        await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=180)
        assert worker.popen.poll() is None, "worker died with the broker"
        after = await table_state(redis, settings)
    finally:
        kafka.stop()
    clean = await _clean_run(settings_env, spawn, namespace)
    assert after == clean


async def test_two_workers_one_killed_partitions_move(
    settings, settings_env, namespace, spawn, redis
) -> None:
    await create_topics(settings)
    await produce_events(settings, EVENTS[:HALF])
    first = spawn("worker", name="w1")
    second = spawn("worker", name="w2")
    await wait_for(lambda: _applied(redis, settings), timeout=90, what="workers running")
    await produce_events(settings, EVENTS[HALF:])
    first.kill()  # SIGKILL: its partitions must move to the survivor
    await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=180)
    assert second.popen.poll() is None
    after = await table_state(redis, settings)
    clean = await _clean_run(settings_env, spawn, namespace)
    assert after == clean
