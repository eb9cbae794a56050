"""Detection on the real pipeline: planted events alert, decoys stay quiet, no repeats."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import orjson
import pytest

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.cli.feed import _wait_detected, read_alerts, score
from monitor.kafka.topics import create_topics
from monitor.sim.produce import produce_events
from monitor.sim.scenario import standard
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from tests.helpers import wait_for

pytestmark = pytest.mark.integration

FAST = {"MONITOR_PARTITION_IDLE_S": "2", "MONITOR_DETECT_INTERVAL_S": "0.2"}


def _records(alerts: list[dict[str, Any]]) -> Counter[tuple[str, str, str, str]]:
    return Counter((a["alert_id"], a["status"], a["severity"], a["event_time"]) for a in alerts)


async def test_scenario_alerts_fire_resolve_and_survive_a_restart(settings, redis, spawn) -> None:
    sc = standard(hours=30, creators=150)
    await create_topics(settings)
    await apply_rules(settings, parse_rules_toml(sc.rules_toml))
    worker = spawn("worker", extra_env=FAST)
    half = len(sc.events) // 2
    await produce_events(settings, sc.events[:half])
    keys = Keys(settings.redis_prefix)

    async def some_progress() -> bool:
        return int(await redis.hget(keys.stats, "applied") or 0) > half // 2

    await wait_for(some_progress, timeout=60, what="first half applied")
    worker.kill()  # SIGKILL mid-stream: offsets, detector state and outbox must carry over
    spawn("worker", extra_env=FAST)
    await produce_events(settings, sc.events[half:])
    await _wait_detected(settings, 240)
    alerts = await read_alerts(settings)

    # no record delivered twice, restart or not
    assert [r for r, n in _records(alerts).items() if n > 1] == []
    report = score(sc, alerts)
    for kind, row in report.items():
        assert row["recall"] == 1.0, (kind, row)
    # decoys stay quiet: excluded phrase burst and the growing macro creator
    decoy_growth = next(d.subject for d in sc.decoys if d.type == "audience_growth")
    assert not [
        a for a in alerts if a["type"] == "audience_growth" and a["creator_id"] == decoy_growth
    ]
    spikes = [a for a in alerts if a["type"] == "mention_spike" and a["status"] == "firing"]
    assert {a["brand"] for a in spikes} == {"acme", "globex"}
    assert len({a["alert_id"] for a in spikes}) == 2  # one episode each, no alert for the decoy
    # each spike episode resolves with the same alert_id
    resolved = {a["alert_id"] for a in alerts if a["status"] == "resolved"}
    assert {a["alert_id"] for a in spikes} <= resolved
    # evidence and numbers travel with the alert
    acme = next(a for a in spikes if a["brand"] == "acme")
    assert acme["value"] >= 10
    assert acme["score"] < acme["threshold"]
    assert acme["evidence"]["top_posts"]
    assert "Acme Shoes" in acme["summary"]
    # growth alerts reach the brand watching the creator and the general feed
    growth = [a for a in alerts if a["type"] == "audience_growth" and a["status"] == "firing"]
    assert any(a["brand"] is None for a in growth)
    # alerts also land in the capped Redis stream for the web view
    stream = await redis.xrange(keys.alerts_stream)
    assert len(stream) == len(alerts)
    assert {orjson.loads(f["alert"])["alert_id"] for _, f in stream} == {
        a["alert_id"] for a in alerts
    }


async def test_a_new_brand_is_counted_within_seconds_without_restart(
    settings, redis, spawn
) -> None:
    await create_topics(settings)
    spawn("worker", extra_env=FAST)
    tables = Tables(redis, Keys(settings.redis_prefix), settings)
    comment = {
        "event_id": "c-1",
        "platform": "ig",
        "comment_id": "1",
        "post_id": "p",
        "creator_id": "ig:zed",
        "text": "warming up",
        "created_at": "2026-11-20T10:00:00Z",
    }
    await produce_events(settings, [("social.comments", comment)])
    await wait_for(lambda: tables.creator("ig:zed"), timeout=60, what="worker running")
    await apply_rules(
        settings, parse_rules_toml('[brands.zest]\nname = "Zest"\nterms = ["zest", "#zesty"]\n')
    )
    await asyncio.sleep(1)
    mention = {**comment, "event_id": "c-2", "comment_id": "2", "text": "Loving my #Zesty drink!"}
    await produce_events(settings, [("social.comments", mention)])

    async def counted() -> bool:
        doc = await tables.creator("ig:zed")
        return bool(doc and doc["mentions_24h"].get("zest") == 1)

    await wait_for(counted, timeout=15, what="the new brand's mention to be counted")
    live = await redis.hgetall(Keys(settings.redis_prefix).rules)
    assert set(live) == {"zest"}
