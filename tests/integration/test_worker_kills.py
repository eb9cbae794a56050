"""Faults 1 and 4 of the reliability suite: the worker SIGKILLed three times at random points,
with the notifier delivering to a fake Slack: tables, alerts and deliveries equal a clean run; and
a Slack outage followed by a 429 storm."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import pytest

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.cli.feed import _wait_detected, read_alerts
from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.settings import load_settings
from monitor.sim.produce import produce_events
from monitor.sim.scenario import standard
from monitor.store.client import make_redis
from monitor.store.keys import Keys
from tests.helpers import wait_caught_up, wait_for
from tests.integration.test_notifier import (  # slack is a fixture
    FAST,
    FakeSlack,
    Reply,
    make_alert,
    publish,
    slack,  # noqa: F401
)
from tests.support import table_state

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DETECT = {"MONITOR_PARTITION_IDLE_S": "2", "MONITOR_DETECT_INTERVAL_S": "0.2"}
SCENARIO = standard(hours=30, creators=150)


def _records(alerts: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    return {(a["alert_id"], a["status"], a["severity"], a["event_time"]) for a in alerts}


async def _run_clean(settings_env: dict[str, str], spawn: Any, namespace: str) -> tuple[Any, Any]:
    env = {**settings_env, "MONITOR_NAMESPACE": f"{namespace}clean."}
    settings = load_settings(environ=env)
    await create_topics(settings)
    await apply_rules(settings, parse_rules_toml(SCENARIO.rules_toml))
    await produce_events(settings, SCENARIO.events)
    spawn(
        "worker", extra_env={**DETECT, "MONITOR_NAMESPACE": env["MONITOR_NAMESPACE"]}, name="clean"
    )
    redis = make_redis(settings)
    try:
        await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=240)
        await _wait_detected(settings, 240)
        return await table_state(redis, settings), await read_alerts(settings)
    finally:
        async for key in redis.scan_iter(match=f"{settings.namespace}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


async def test_worker_killed_three_times_equals_a_clean_run(
    settings,
    settings_env,
    namespace,
    redis,
    spawn,
    slack: FakeSlack,  # noqa: F811  # the fixture
) -> None:
    await create_topics(settings)
    await apply_rules(settings, parse_rules_toml(SCENARIO.rules_toml))
    await produce_events(settings, SCENARIO.events)
    notifier = spawn(
        "notify", *FAST, "--group-wait", "0.5", extra_env={"MONITOR_SLACK_WEBHOOK": slack.url()}
    )
    keys = Keys(settings.redis_prefix)
    total = len(SCENARIO.events)
    rng = random.Random(2026)
    kills = sorted(rng.uniform(0.1, 0.9) for _ in range(3))
    worker = spawn("worker", extra_env=DETECT, name="w")
    for share in kills:

        async def progressed(share: float = share) -> bool:
            return int(await redis.hget(keys.stats, "applied") or 0) >= share * total

        await wait_for(progressed, timeout=180, interval=0.05, what=f"{share:.0%} applied")
        applied = int(await redis.hget(keys.stats, "applied") or 0)
        assert applied < total, "the stream ended before the kill"
        worker.kill()
        worker = spawn("worker", extra_env=DETECT, name="w")
    await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=240)
    await _wait_detected(settings, 240)
    after = await table_state(redis, settings)
    alerts = await read_alerts(settings)

    # Slack: every distinct alert record delivered exactly once
    distinct = _records(alerts)
    await wait_for(
        lambda: _async(len(slack.delivered_ids()) >= len(distinct)),
        timeout=120,
        what="the notifier to deliver every alert",
    )
    assert notifier.popen.poll() is None
    assert Counter(slack.delivered_ids()) == Counter(a for a, *_ in distinct)
    assert len(alerts) == len(distinct), "an alert record reached Kafka twice"

    clean_tables, clean_alerts = await _run_clean(settings_env, spawn, namespace)
    assert after == clean_tables
    assert {(a, s) for a, s, *_ in distinct} == {(a, s) for a, s, *_ in _records(clean_alerts)}


async def _async(value: bool) -> bool:
    return value


async def test_slack_outage_then_a_429_storm_delivers_every_alert_once(
    settings,
    redis,
    spawn,
    slack: FakeSlack,  # noqa: F811  # the fixture
) -> None:
    """Fault 4: two minutes of 503s, then twenty 429s with Retry-After: all delivered, once."""
    outage_s = 120
    slack.script(slack.url().split(str(slack.port))[1], always=Reply(status=503, body="down"))
    notifier = spawn(
        "notify",
        "--group-wait",
        "0.5",
        "--retry-max-s",
        "900",
        "--backoff-base-s",
        "0.5",
        "--backoff-max-s",
        "10",
        "--request-timeout-s",
        "2",
        extra_env={"MONITOR_SLACK_WEBHOOK": slack.url()},
    )
    alerts = [make_alert(n, brand=f"b{n % 3}") for n in range(30)]
    await publish(settings, alerts)
    await wait_for(lambda: _async(len(slack.hits) > 0), timeout=60, what="first attempt")
    await asyncio.sleep(outage_s)
    path = slack.url().split(str(slack.port))[1]
    slack.always.pop(path)
    slack.script(
        path, *[Reply(status=429, body="rate_limited", retry_after="1") for _ in range(20)]
    )
    await wait_for(
        lambda: _async(len(slack.delivered_ids()) >= len(alerts)),
        timeout=180,
        what="delivery after recovery",
    )
    assert notifier.popen.poll() is None
    assert Counter(slack.delivered_ids()) == Counter(a.alert_id for a in alerts)
    failed = [h for h in slack.hits if h.status != 200]
    assert sum(h.status == 503 for h in failed) >= 2  # it kept trying through the outage
    assert sum(h.status == 429 for h in failed) == 20
