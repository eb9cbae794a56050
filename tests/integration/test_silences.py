"""Silences end to end on the real broker and Redis: the detector's outbox marks, Slack is spared.

A brand is silenced mid-stream with ``monitor silence add``; its alerts still reach
``monitor.alerts`` and the web view's stream, marked ``silenced_by``, while the real notifier
posts nothing for it to the fake Slack; ``monitor silence expire`` restores delivery.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from aiohttp import ClientSession, web

from monitor.detect.outbox import Outbox
from monitor.kafka.sender import BatchSender
from monitor.kafka.topics import ALERTS, create_topics
from monitor.settings import Settings, load_settings
from monitor.store.keys import Keys
from monitor.web.app import create_web_app
from tests.helpers import Proc, read_topic
from tests.integration.test_notifier import FakeSlack, make_alert, slack, start_notifier, until

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("redis")]
__all__ = ["slack"]  # the fake Slack fixture, shared with the notifier's tests

TOKEN = "silence-test-token"


@pytest.fixture
async def outbox(settings: Settings, redis: aioredis.Redis) -> AsyncIterator[Outbox]:
    await create_topics(settings)
    sender = BatchSender(settings)
    yield Outbox(redis=redis, keys=Keys(settings.redis_prefix), settings=settings, sender=sender)
    await sender.stop()


async def emit(outbox: Outbox, *alerts: Any) -> None:
    """What a detector pass does: commit the alerts with its state, then flush them to Kafka."""
    await outbox.commit({}, {}, list(alerts))
    assert await outbox.flush() == len(alerts)


async def run_cli(spawn: Callable[..., Proc], *args: str) -> str:
    proc = spawn("silence", *args, name="silence")
    for _ in range(300):
        if proc.popen.poll() is not None:
            break
        await asyncio.sleep(0.1)
    assert proc.popen.returncode == 0, proc.output()
    return proc.output()


async def test_a_silenced_brand_reaches_the_topic_marked_but_not_slack_until_expiry(
    settings: Settings,
    redis: aioredis.Redis,
    spawn: Callable[..., Proc],
    slack: FakeSlack,
    outbox: Outbox,
) -> None:
    notifier = start_notifier(spawn, slack.url(), "--group-wait", "0")
    await emit(outbox, make_alert(0, "acme"), make_alert(0, "globex"))
    await until(lambda: len(slack.delivered_ids()) == 2, "both brands before the silence", notifier)

    added = await run_cli(spawn, "add", "--brand", "acme", "--until", "1h", "--comment", "launch")
    match = re.search(r"silence ([0-9a-f]{32}) holds acme", added)
    assert match is not None, added
    silence_id = match.group(1)

    silenced = [make_alert(n, "acme") for n in (1, 2)]
    await emit(outbox, *silenced, make_alert(1, "globex"))
    await until(
        lambda: "mention_spike:globex:1" in slack.delivered_ids(), "globex after it", notifier
    )
    await asyncio.sleep(2)  # time enough for acme's (group wait 0) to have gone out, were they sent
    assert not {a.alert_id for a in silenced} & set(slack.delivered_ids())

    on_topic = {
        v["alert_id"]: v
        for v in (orjson.loads(r.value) for r in await read_topic(settings, ALERTS))
    }
    assert [on_topic[a.alert_id].get("silenced_by") for a in silenced] == [silence_id] * 2
    assert "silenced_by" not in on_topic["mention_spike:globex:1"]
    assert "silenced_by" not in on_topic["mention_spike:acme:0"]  # before the silence
    stream: list[tuple[str, dict[str, str]]] = await redis.xrange(  # type: ignore[assignment]  # decode_responses=True
        Keys(settings.redis_prefix).alerts_stream
    )
    marked = [orjson.loads(f["alert"]).get("silenced_by") for _, f in stream]
    assert marked.count(silence_id) == 2

    await run_cli(spawn, "expire", silence_id)
    listed = await run_cli(spawn, "list", "--json")
    [shown] = orjson.loads(listed.strip().splitlines()[-1])
    assert (shown["id"], shown["state"]) == (silence_id, "expired")

    await emit(outbox, make_alert(3, "acme"))
    await until(
        lambda: "mention_spike:acme:3" in slack.delivered_ids(), "acme after expiry", notifier
    )
    assert not {a.alert_id for a in silenced} & set(slack.delivered_ids())


@pytest.fixture
async def api(settings_env: dict[str, str], redis: aioredis.Redis) -> AsyncIterator[str]:
    settings = load_settings(environ={**settings_env, "MONITOR_API_TOKEN": TOKEN})
    runner = web.AppRunner(create_web_app(settings, redis))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/silences"
    await runner.cleanup()


# In process, the web app's str request key warns (aiohttp's NotAppKeyWarning); its own tests run
# it as a subprocess, where warnings are not errors.
@pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning")
async def test_the_silences_api_adds_lists_and_expires_behind_the_token(api: str) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = {"brand": "acme", "type": "mention_spike", "until": "2h", "comment": "launch"}
    async with ClientSession() as http:
        async with http.post(api, json=body) as r:
            assert r.status == 401
        async with http.post(api, json=body, headers=auth) as r:
            assert r.status == 200
            made = await r.json()
        assert (made["brand"], made["type"], made["state"]) == ("acme", "mention_spike", "active")
        async with http.get(api, headers=auth) as r:
            assert [s["id"] for s in await r.json()] == [made["id"]]
        for bad, parameter in (
            ({**body, "until": "soon"}, "until"),
            ({**body, "brand": "Acme!"}, "brand"),
            ({**body, "type": "spike"}, "type"),
            ({"brand": "acme", "until": "2h"}, "comment"),
        ):
            async with http.post(api, json=bad, headers=auth) as r:
                assert r.status == 400
                assert (await r.json())["parameter"] == parameter
        async with http.post(api, data=b"[", headers=auth) as r:
            assert (r.status, (await r.json())["parameter"]) == (400, "body")
        async with http.delete(api, headers=auth) as r:
            assert (r.status, (await r.json())["parameter"]) == (400, "id")
        async with http.delete(api, params={"id": "0" * 32}, headers=auth) as r:
            assert r.status == 404
        async with http.delete(api, params={"id": made["id"]}, headers=auth) as r:
            assert (r.status, (await r.json())["state"]) == (200, "expired")
        async with http.get(api, headers=auth) as r:
            assert [s["state"] for s in await r.json()] == ["expired"]
