"""Quiet hours and inhibition through the real notifier, Kafka and Redis, to the fake Slack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from monitor.settings import Settings
from tests.helpers import Proc
from tests.integration.test_notifier import (
    FakeSlack,
    make_alert,
    publish,
    publish_rules,
    slack,
    start_notifier,
    until,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("redis")]
__all__ = ["slack"]  # the fake Slack fixture, shared with the notifier's tests


def window_ending_soon() -> tuple[str, float]:
    """A UTC quiet window that holds now and ends at the next minute but one (60..120 s)."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start, end = now - timedelta(minutes=10), now + timedelta(minutes=2)
    return f"{start:%H:%M}-{end:%H:%M}", end.timestamp()


async def test_quiet_hours_hold_a_brands_messages_through_a_restart_then_send_them_grouped(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    window, ends = window_ending_soon()
    quiet = f'quiet_hours = "{window}"\ntimezone = "UTC"'
    await publish_rules(
        settings, {"acme": None, "initech": None, "zed": None}, acme=quiet, initech=quiet
    )
    first = start_notifier(spawn, slack.url(), "--group-wait", "0")
    held = [make_alert(n, "acme") for n in range(3)]
    urgent = make_alert(0, "initech", severity="critical")
    await publish(settings, [*held, urgent, make_alert(0, "zed")])
    await until(
        lambda: len(slack.delivered_ids()) == 2, "the critical and the unquiet brand", first
    )
    assert set(slack.delivered_ids()) == {urgent.alert_id, "mention_spike:zed:0"}
    await asyncio.sleep(2)
    assert not {a.alert_id for a in held} & set(slack.delivered_ids())

    first.kill()  # the held records were never committed: the next notifier reads them again
    second = start_notifier(spawn, slack.url(), "--group-wait", "0")
    await until(
        lambda: {a.alert_id for a in held} <= set(slack.delivered_ids()),
        "acme's alerts at the end of its quiet hours",
        second,
        timeout=ends - time.time() + 30,
    )
    acme_hits = [h for h in slack.delivered() if h.alert_ids[0].startswith("mention_spike:acme")]
    assert len(acme_hits) == 1  # grouped: one message
    assert sorted(acme_hits[0].alert_ids) == sorted(a.alert_id for a in held)
    assert acme_hits[0].at >= ends - 1  # not before the window ended (1 s for clock reads)


async def test_a_critical_spike_inhibits_the_brands_warning_repeats_until_it_resolves(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    episode = "mention_spike:acme:1"
    start = make_alert(1, "acme", alert_id=episode, severity="warning")
    critical = make_alert(1, "acme", alert_id=episode, severity="critical", event_time="T1")
    repeat = make_alert(1, "acme", alert_id=episode, severity="warning", event_time="T2")
    other = make_alert(2, "globex", severity="warning")
    proc = start_notifier(spawn, slack.url(), "--group-wait", "0")
    await publish(settings, [start, critical])
    await until(lambda: len(slack.delivered_ids()) == 2, "the warning and its escalation", proc)

    proc.kill()  # the inhibition must survive a restart: it lives in Redis
    proc = start_notifier(spawn, slack.url(), "--group-wait", "0")
    await publish(settings, [repeat, other])
    await until(lambda: other.alert_id in slack.delivered_ids(), "another brand's warning", proc)
    await asyncio.sleep(2)
    assert slack.delivered_ids().count(episode) == 2  # the warning repeat was inhibited
    assert "alert not sent" in proc.output()
    assert "inhibited" in proc.output()

    resolved = make_alert(1, "acme", alert_id=episode, status="resolved", event_time="T3")
    after = make_alert(5, "acme", severity="warning", event_time="T4")
    await publish(settings, [resolved, after])
    await until(lambda: after.alert_id in slack.delivered_ids(), "a warning after resolve", proc)
    assert slack.delivered_ids().count(episode) == 3  # the resolved record went out
