"""Every detector's verdict is independent of how far ingest ran ahead of it.

One scenario produced three ways: paced (detection catches up after every two hours of event
time), all at once, and all at once with detection parked until ingest has finished. The alert
records (id, status, severity, value) must be the same, for every alert type.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pytest
import redis.asyncio as aioredis

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.cli.feed import _drop_namespace, _wait_detected, read_alerts
from monitor.core.units import HOUR_MS
from monitor.kafka.topics import create_topics
from monitor.settings import Settings, load_settings
from monitor.sim.produce import produce_events
from monitor.sim.scenario import Scenario, standard
from monitor.store.keys import Keys
from schemas.events import parse_time_ms
from tests.conftest import settings_env_for
from tests.helpers import Proc, wait_for

pytestmark = pytest.mark.integration

Mode = Literal["paced", "at once", "parked"]
FAST = {"MONITOR_PARTITION_IDLE_S": "1", "MONITOR_DETECT_INTERVAL_S": "0.05"}
CHUNK_MS = 2 * HOUR_MS
Record = tuple[str, str, str, float]


def _chunks(sc: Scenario) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The events in consecutive slices of ``CHUNK_MS`` of event time."""
    chunk: list[tuple[str, dict[str, Any]]] = []
    edge: int | None = None
    for topic, e in sc.events:
        t = parse_time_ms(e.get("observed_at") or e["created_at"]) or 0
        edge = t - t % CHUNK_MS + CHUNK_MS if edge is None else edge
        if t >= edge:
            yield chunk
            chunk, edge = [], t - t % CHUNK_MS + CHUNK_MS
        chunk.append((topic, e))
    yield chunk


async def _applied(redis: aioredis.Redis, settings: Settings, n: int) -> None:
    key = Keys(settings.redis_prefix).stats

    async def done() -> bool:
        return int(await redis.hget(key, "applied") or 0) >= n

    await wait_for(done, timeout=120, what=f"{n} events applied")


async def _run(
    sc: Scenario, mode: Mode, redis: aioredis.Redis, spawn: Callable[..., Proc]
) -> list[Record]:
    ns = f"t{uuid.uuid4().hex[:10]}."
    settings = load_settings(environ=settings_env_for(ns))
    env = {**FAST, "MONITOR_NAMESPACE": ns}
    await create_topics(settings)
    try:
        await apply_rules(settings, parse_rules_toml(sc.rules_toml))
        if mode == "paced":
            spawn("worker", extra_env=env, name=f"paced-{ns}")
            produced = 0
            for chunk in _chunks(sc):
                produced += await produce_events(settings, chunk)
                await _applied(redis, settings, produced)
                await _wait_detected(settings, 120)
        elif mode == "at once":
            spawn("worker", extra_env=env, name=f"once-{ns}")
            await produce_events(settings, sc.events)
        else:
            ingest = spawn(
                "worker", extra_env={**env, "MONITOR_DETECT_PARKED": "1"}, name=f"ingest-{ns}"
            )
            await produce_events(settings, sc.events)
            await _applied(redis, settings, len(sc.events))
            assert await redis.get(Keys(settings.redis_prefix).detect_step) is None  # parked
            ingest.stop()
            spawn("worker", extra_env=env, name=f"detect-{ns}")
        await _wait_detected(settings, 180)
        alerts = await read_alerts(settings)
    finally:
        await _drop_namespace(settings)
    return sorted((a["alert_id"], a["status"], a["severity"], a["value"]) for a in alerts)


async def test_alerts_do_not_depend_on_how_far_ingest_ran_ahead(
    redis: aioredis.Redis, spawn: Callable[..., Proc]
) -> None:
    sc = standard(seed=11, hours=36, creators=40)
    paced = await _run(sc, "paced", redis, spawn)
    types = {r[0].split(":")[0] for r in paced}
    assert types == {"mention_spike", "audience_growth", "sentiment_shift", "engagement_spike"}
    at_once = await _run(sc, "at once", redis, spawn)
    parked = await _run(sc, "parked", redis, spawn)
    assert sorted(set(at_once) ^ set(paced)) == []
    assert at_once == paced
    assert parked == paced
