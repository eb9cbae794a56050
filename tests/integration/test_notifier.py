"""``monitor notify`` end to end: real Kafka and Redis, a local server that answers like Slack.

Every test drives the real notifier process (``spawn("notify", ...)``) with alerts produced to this
test's namespaced ``monitor.alerts`` and watches what reaches the fake Slack, the dead-letter topic
and Redis.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
import time
from collections import Counter, defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.kafka.topics import create_topics
from monitor.settings import Settings
from monitor.store.keys import Keys
from schemas.records import Alert
from tests.helpers import Proc, produce, read_topic, wait_for

# Requesting `redis` deletes the namespace's keys (delivery markers) after each test.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("redis")]

# Small bounds so each test runs in seconds; argparse keeps the last of a repeated flag.
FAST = (
    "--group-wait", "1", "--retry-max-s", "3", "--backoff-base-s", "0.2",
    "--backoff-max-s", "0.5", "--request-timeout-s", "1",
)  # fmt: skip
DEFAULT_PATH = "/services/T0DEFAULT/B0DEFAULT/defaultSecretToken0"


# --- the fake Slack ------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    retry_after: str | None = None
    delay_s: float = 0.0


@dataclass
class Hit:
    path: str
    at: float
    payload: dict[str, Any]
    status: int
    completed: bool | None = True  # False: the client had gone; None: answer not ready yet

    @property
    def alert_ids(self) -> list[str]:
        ids = []
        for block in self.payload.get("blocks", []):
            for element in block.get("elements", []) if block.get("type") == "context" else []:
                match = re.match(r"`([^`]+)`", element.get("text", ""))
                if match:
                    ids.append(match.group(1))
        return ids


@dataclass
class FakeSlack:
    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    scripts: dict[str, deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    always: dict[str, Reply] = field(default_factory=dict)

    def url(self, path: str = DEFAULT_PATH) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply, always: Reply | None = None) -> None:
        """Answer the next requests to ``path`` with ``replies``, then ``always`` (or 200 ok)."""
        self.scripts[path].extend(replies)
        if always is not None:
            self.always[path] = always

    def on(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    def delivered(self, path: str | None = None) -> list[Hit]:
        return [
            h
            for h in self.hits
            if h.status == 200 and h.completed is True and (path is None or h.path == path)
        ]

    def delivered_ids(self, path: str | None = None) -> list[str]:
        return [i for h in self.delivered(path) for i in h.alert_ids]

    async def handle(self, request: web.Request) -> web.Response:
        payload = orjson.loads(await request.read())
        queue = self.scripts[request.path]
        reply = queue.popleft() if queue else self.always.get(request.path, Reply())
        hit = Hit(request.path, time.time(), payload, reply.status)
        self.hits.append(hit)
        if reply.delay_s:
            hit.completed = None
            await asyncio.sleep(reply.delay_s)
            hit.completed = request.transport is not None and not request.transport.is_closing()
        body = reply.body.replace("{path}", request.path)
        headers = {"Retry-After": reply.retry_after} if reply.retry_after else {}
        return web.Response(status=reply.status, text=body, headers=headers)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack()
    app = web.Application()
    app.router.add_post("/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.port = runner.addresses[0][1]
    yield fake
    await runner.cleanup()


# --- helpers -------------------------------------------------------------------------------------


def make_alert(n: int, brand: str | None = "acme", **changes: Any) -> Alert:
    base: dict[str, Any] = {
        "alert_id": f"mention_spike:{brand}:{n}",
        "type": "mention_spike",
        "status": "firing",
        "severity": "warning",
        "brand": brand,
        "creator_id": None if brand else f"instagram:c{n}",
        "community": None,
        "window": "15m",
        "value": 40 + n,
        "baseline": 6.1,
        "score": 1.2e-9,
        "threshold": 1e-4,
        "event_time": "2026-11-20T10:15:00Z",
        "detected_at": "2026-11-20T10:15:03Z",
        "summary": f"{brand}: {40 + n} mentions in 15 min",
        "evidence": {"top_posts": [{"post_id": str(n), "creator_id": "ig:a", "text": "wow"}]},
    }
    return Alert(**{**base, **changes})


async def publish(settings: Settings, alerts: Iterable[Alert]) -> None:
    await create_topics(settings)
    await produce(settings, [("monitor.alerts", a.key, a.to_json()) for a in alerts])


async def publish_rules(settings: Settings, webhooks: dict[str, str | None], **extra: str) -> None:
    """One brand rule per id, with its webhook (or none) and extra TOML lines per brand."""
    lines = []
    for brand, url in webhooks.items():
        lines += [f"[brands.{brand}]", f'name = "Brand {brand}"', f'terms = ["{brand}word"]']
        if url:
            lines.append(f'slack_webhook = "{url}"')
        if brand in extra:
            lines.append(extra[brand])
    await apply_rules(settings, parse_rules_toml("\n".join(lines)))


def start_notifier(
    spawn: Callable[..., Proc], webhook: str | None, *flags: str, env: dict[str, str] | None = None
) -> Proc:
    extra_env = {"MONITOR_SLACK_WEBHOOK": webhook} if webhook else {}
    return spawn("notify", *FAST, *flags, extra_env={**extra_env, **(env or {})})


async def until(cond: Callable[[], Any], what: str, proc: Proc, timeout: float = 60) -> None:
    async def check() -> Any:
        if proc.popen.poll() is not None:
            raise AssertionError(f"notifier exited ({proc.popen.returncode}):\n{proc.output()}")
        return cond()

    try:
        await wait_for(check, timeout=timeout, interval=0.05, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- notifier output ---\n{proc.output()[-4000:]}") from None


async def dead_letters(settings: Settings) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in await read_topic(settings, "monitor.deadletter")]


async def wait_dead_letters(
    settings: Settings, count: int, proc: Proc, timeout: float = 40
) -> list[dict[str, Any]]:
    async def enough() -> list[dict[str, Any]] | None:
        if proc.popen.poll() is not None:
            raise AssertionError(f"notifier exited ({proc.popen.returncode})")
        letters = await dead_letters(settings)
        return letters if len(letters) >= count else None

    try:
        letters: list[dict[str, Any]] = await wait_for(
            enough, timeout=timeout, interval=0.3, what=f"{count} dead letters"
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- notifier output ---\n{proc.output()[-4000:]}") from None
    return letters


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


# --- Slack's answers -----------------------------------------------------------------------------


async def test_alerts_of_one_brand_within_the_wait_go_out_as_one_message(
    settings: Settings, redis: Any, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    acme = [make_alert(n, "acme") for n in range(5)]
    zed = [make_alert(n, "zed") for n in range(2)]
    proc = start_notifier(spawn, slack.url(), "--group-wait", "2")
    await publish(settings, acme[:3] + zed[:1])
    await asyncio.sleep(0.5)
    await publish(settings, acme[3:] + zed[1:])  # still inside the wait
    await until(lambda: len(slack.delivered_ids()) == 7, "all 7 alerts", proc)
    await asyncio.sleep(1.5)
    assert len(slack.hits) == 2
    by_ids = sorted(sorted(h.alert_ids) for h in slack.hits)
    assert by_ids == [sorted(a.alert_id for a in acme), sorted(a.alert_id for a in zed)]
    acme_msg = next(h.payload for h in slack.hits if "acme" in h.alert_ids[0])
    assert acme_msg["blocks"][0]["text"]["text"] == "🔥 5 FIRING · Mention spike · acme"
    assert len(acme_msg["blocks"]) <= 50
    keys = Keys(settings.redis_prefix)
    for a in acme + zed:
        assert await redis.get(keys.notified(a.delivery_marker)) == "delivered"


async def test_at_most_one_message_per_second_per_webhook(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    second = "/services/T0SECOND/B0SECOND/secondToken"
    await publish_rules(settings, {f"r{i}": slack.url(second) for i in range(4)})
    proc = start_notifier(spawn, slack.url(), "--group-wait", "0")
    # Different brands never share a message, so each webhook gets four messages.
    await publish(settings, [make_alert(0, f"{p}{i}") for i in range(4) for p in ("d", "r")])
    await until(lambda: len(slack.delivered()) == 8, "8 messages", proc)
    for path in (DEFAULT_PATH, second):
        times = sorted(h.at for h in slack.on(path))
        assert len(times) == 4
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 0.95, gaps
    # The limit is per webhook: the two webhooks are served side by side.
    assert abs(slack.on(DEFAULT_PATH)[0].at - slack.on(second)[0].at) < 0.6


async def test_429_waits_for_retry_after_then_delivers(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    slack.script(DEFAULT_PATH, Reply(429, "rate_limited", retry_after="2"))
    proc = start_notifier(spawn, slack.url())
    await publish(settings, [make_alert(1)])
    await until(lambda: slack.delivered(), "delivery after the 429", proc)
    first, second = slack.hits
    assert first.status == 429
    assert second.at - first.at >= 1.95
    assert second.alert_ids == [make_alert(1).alert_id]
    await asyncio.sleep(1)
    assert len(slack.hits) == 2
    assert await dead_letters(settings) == []


async def test_5xx_and_a_slow_endpoint_are_retried_with_backoff_until_delivered(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    slack.script(
        DEFAULT_PATH,
        Reply(500, "rollup_error"),
        Reply(503, "service unavailable"),
        Reply(200, "ok", delay_s=3.0),  # slower than the request timeout
    )
    proc = start_notifier(spawn, slack.url(), "--retry-max-s", "30", "--request-timeout-s", "0.7")
    await publish(settings, [make_alert(1)])
    await until(lambda: slack.delivered(), "delivery after retries", proc)
    assert [h.status for h in slack.hits] == [500, 503, 200, 200]
    await until(lambda: slack.hits[2].completed is not None, "the slow answer", proc)
    assert slack.hits[2].completed is False  # the notifier had timed out and moved on
    assert slack.delivered_ids() == [make_alert(1).alert_id]
    out = proc.output()
    assert "HTTP 500 rollup_error" in out
    assert "timeout" in out
    assert await dead_letters(settings) == []


async def test_permanent_answers_are_dead_lettered_at_once_without_retry(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    answers = {
        "p400": Reply(400, "invalid_payload"),
        "p403": Reply(403, "action_prohibited"),
        "p404": Reply(404, "no_service"),
        "p410": Reply(410, "channel_is_archived"),
    }
    paths = {brand: f"/services/T{brand}/B{brand}/tok{brand}" for brand in answers}
    for brand, reply in answers.items():
        slack.script(paths[brand], always=reply)
    await publish_rules(settings, {b: slack.url(p) for b, p in paths.items()})
    proc = start_notifier(spawn, slack.url())
    alerts = {brand: make_alert(1, brand) for brand in answers}
    await publish(settings, alerts.values())
    await produce(settings, [("monitor.alerts", b"p400", b"{not json")])

    await until(lambda: len(slack.hits) >= 4, "four attempts", proc)
    letters = await wait_dead_letters(settings, 5, proc)
    await asyncio.sleep(2)  # a retry would have come by now
    for brand, path in paths.items():
        assert len(slack.on(path)) == 1, brand
    records = {
        orjson.loads(r.value)["alert_id"]: r
        for r in await read_topic(settings, "monitor.alerts")
        if r.value != b"{not json"
    }
    by_key = {d["key"]: d for d in letters if d["code"] == "slack_permanent"}
    for brand, reply in answers.items():
        letter = by_key[brand]
        assert letter["reason"] == f"HTTP {reply.status} {reply.body}"
        assert orjson.loads(letter["payload"]) == alerts[brand].to_dict()
        source = records[alerts[brand].alert_id]
        assert (letter["topic"], letter["partition"], letter["offset"]) == (
            source.topic,
            source.partition,
            source.offset,
        )
    malformed = [d for d in letters if d["code"] == "malformed_alert"]
    assert [d["payload"] for d in malformed] == ["{not json"]
    assert len(await dead_letters(settings)) == 5


async def test_retries_stop_at_the_bound_then_the_alert_is_dead_lettered(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    failing, slow = "/services/TA/BA/failing", "/services/TB/BB/slow"
    slack.script(failing, always=Reply(500, "internal_error"))
    slack.script(slow, always=Reply(200, "ok", delay_s=5))
    refused = f"http://127.0.0.1:{closed_port()}/services/TC/BC/refused"
    await publish_rules(
        settings, {"failing": slack.url(failing), "slow": slack.url(slow), "refused": refused}
    )
    proc = start_notifier(spawn, slack.url(), "--retry-max-s", "2", "--request-timeout-s", "0.5")
    await publish(settings, [make_alert(1, b) for b in ("failing", "slow", "refused")])
    letters = {d["key"]: d for d in await wait_dead_letters(settings, 3, proc)}
    assert {d["code"] for d in letters.values()} == {"slack_retry_exhausted"}
    assert letters["failing"]["reason"].startswith("HTTP 500 internal_error; gave up after")
    assert letters["slow"]["reason"].startswith("timeout; gave up after")
    assert letters["refused"]["reason"].startswith("connection error")
    for path in (failing, slow):
        attempts = sorted(h.at for h in slack.on(path))
        assert len(attempts) >= 2
        assert attempts[-1] - attempts[0] <= 2 + 1.5  # the bound, plus one request in flight
    assert slack.delivered() == []


# --- exactly once --------------------------------------------------------------------------------


async def test_sigkill_mid_delivery_and_restart_delivers_every_alert_exactly_once(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    alerts = [make_alert(n, f"b{i}") for i in range(10) for n in range(2)]
    # The 4th message fails, so the notifier is waiting to retry it when it is killed.
    slack.script(DEFAULT_PATH, Reply(), Reply(), Reply(), Reply(500, "rollup_error"))
    first = start_notifier(spawn, slack.url(), "--group-wait", "0.5", "--retry-max-s", "60")
    await publish(settings, alerts)
    await until(lambda: len(slack.hits) >= 4, "4 requests", first)
    first.kill()
    before = Counter(slack.delivered_ids())
    assert 0 < len(before) < len(alerts)
    second = start_notifier(spawn, slack.url(), "--group-wait", "0.5")
    await until(
        lambda: set(slack.delivered_ids()) == {a.alert_id for a in alerts},
        "every alert after the restart",
        second,
        timeout=90,
    )
    await asyncio.sleep(2)
    counts = Counter(slack.delivered_ids())
    assert counts == Counter({a.alert_id: 1 for a in alerts}), counts


async def test_alerts_marked_delivered_in_redis_are_not_posted_again(
    settings: Settings, redis: Any, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    """A crash after Slack's 200 but before the offset commit: the markers stop a repeat."""
    alerts = [make_alert(n, f"m{n}") for n in range(4)]
    keys = Keys(settings.redis_prefix)
    for a in alerts[:2]:
        await redis.set(keys.notified(a.delivery_marker), "delivered")
    await publish(settings, alerts + alerts[2:3])  # and one duplicate record
    proc = start_notifier(spawn, slack.url(), "--group-wait", "0.2")
    await until(lambda: len(slack.delivered_ids()) >= 2, "2 alerts", proc)
    await asyncio.sleep(2)
    assert sorted(slack.delivered_ids()) == sorted(a.alert_id for a in alerts[2:])
    skipped = [ln for ln in proc.output().splitlines() if "alert already delivered" in ln]
    for a in alerts[:2]:
        assert any(a.alert_id in ln for ln in skipped), a.alert_id
    # A repeat of an episode (new event_time) is a new record and does go out.
    repeat = make_alert(0, "m0", event_time="2026-11-20T14:15:00Z")
    await publish(settings, [repeat])
    await until(lambda: len(slack.delivered_ids()) == 3, "the repeat", proc)


# --- routing, filters, stdout --------------------------------------------------------------------


async def test_routing_to_brand_webhooks_the_default_and_brand_filters(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    acme_path = "/services/TACME/BACME/acmeToken"
    await publish_rules(
        settings,
        {"acme": slack.url(acme_path), "zed": None},
        acme='alert_types = ["mention_spike"]',
        zed='min_severity = "critical"',
    )
    proc = start_notifier(spawn, slack.url(), "--group-wait", "0.3")
    sent = {
        "acme_spike": make_alert(1, "acme"),
        "acme_sentiment": make_alert(2, "acme", type="sentiment_shift"),  # filtered
        "zed_warning": make_alert(3, "zed"),  # filtered
        "zed_critical": make_alert(4, "zed", severity="critical"),
        "feed": make_alert(5, None, type="audience_growth"),
        "unknown_brand": make_alert(6, "nobody"),
    }
    await publish(settings, sent.values())
    await until(lambda: len(slack.delivered_ids()) >= 4, "4 routed alerts", proc)
    await asyncio.sleep(1.5)
    assert slack.delivered_ids(acme_path) == [sent["acme_spike"].alert_id]
    assert sorted(slack.delivered_ids(DEFAULT_PATH)) == sorted(
        sent[k].alert_id for k in ("zed_critical", "feed", "unknown_brand")
    )
    assert proc.output().count("alert filtered out by the brand's rule") == 2
    feed = next(h for h in slack.hits if sent["feed"].alert_id in h.alert_ids)
    assert feed.payload["blocks"][0]["text"]["text"].endswith("· instagram:c5")
    zed = next(h for h in slack.hits if sent["zed_critical"].alert_id in h.alert_ids)
    assert zed.payload["blocks"][0]["text"]["text"].endswith("· Brand zed")


async def test_without_any_webhook_messages_are_printed_as_json_lines(
    settings: Settings, redis: Any, spawn: Callable[..., Proc]
) -> None:
    alert = make_alert(1)
    proc = start_notifier(spawn, None, "--group-wait", "0.2")
    await publish(settings, [alert])

    def printed() -> list[dict[str, Any]]:
        lines = [ln for ln in proc.output().splitlines() if ln.startswith('{"notify":"stdout"')]
        return [orjson.loads(ln) for ln in lines]

    await until(printed, "a printed message", proc)
    (message,) = printed()
    assert message["alert_ids"] == [alert.alert_id]
    assert message["blocks"][0]["type"] == "header"
    assert "mentions" in message["text"]
    keys = Keys(settings.redis_prefix)
    assert await redis.get(keys.notified(alert.delivery_marker)) == "delivered"


# --- secrets -------------------------------------------------------------------------------------


async def test_webhook_urls_never_appear_in_the_notifiers_output_or_dead_letters(
    settings: Settings, spawn: Callable[..., Proc], slack: FakeSlack
) -> None:
    default_path = "/services/T0SECRET1/B0SECRET1/xoxDefaultSecret123"
    echo_path = "/services/T0SECRET2/B0SECRET2/xoxEchoSecret456"
    refused = f"http://127.0.0.1:{closed_port()}/services/T0SECRET3/B0SECRET3/xoxRefused789"
    slack.script(default_path, Reply(500, "boom at {path}"), Reply(429, "slow down {path}"))
    slack.script(echo_path, always=Reply(404, "no_service for {path}"))  # Slack echoing the URL
    await publish_rules(settings, {"echo": slack.url(echo_path), "refused": refused})
    proc = start_notifier(
        spawn,
        slack.url(default_path),
        "--retry-max-s",
        "3",
        env={"MONITOR_LOG_LEVEL": "debug"},
    )
    await publish(
        settings, [make_alert(1, "plain"), make_alert(2, "echo"), make_alert(3, "refused")]
    )

    letters = await wait_dead_letters(settings, 2, proc)
    await until(lambda: slack.delivered(default_path), "the default delivery", proc)
    assert proc.stop() == 0
    out = proc.output()
    assert "wh-" in out  # webhooks are named by fingerprint
    secrets = [
        slack.url(default_path),
        slack.url(echo_path),
        refused,
        "xoxDefaultSecret123",
        "xoxEchoSecret456",
        "xoxRefused789",
        "T0SECRET",
        "B0SECRET",
        "/services/",
    ]
    dumped = orjson.dumps(letters).decode()
    for secret in secrets:
        assert secret not in out, secret
        assert secret not in dumped, secret
    assert any("no_service for ***" in d["reason"] for d in letters)


# --- brand teams' subscription -------------------------------------------------------------------


async def test_alerts_tail_filters_by_brand_and_type(
    settings: Settings, spawn: Callable[..., Proc]
) -> None:
    alerts = [
        make_alert(1, "acme"),
        make_alert(2, "acme", type="sentiment_shift", status="resolved"),
        make_alert(3, "zed"),
        make_alert(4, None, creator_id="acme"),  # keyed "acme", but no brand: not acme's
    ]
    await publish(settings, alerts)
    as_json = spawn("alerts", "tail", "--brand", "acme", "--from-beginning", "--json")
    readable = spawn("alerts", "tail", "--type", "sentiment_shift", "--from-beginning")

    def json_lines() -> list[dict[str, Any]]:
        out = as_json.output().splitlines()
        return [orjson.loads(ln) for ln in out if ln.startswith('{"alert_id"')]

    await until(lambda: len(json_lines()) >= 2, "acme's alerts", as_json, timeout=30)
    await until(lambda: "RESOLVED" in readable.output(), "a readable line", readable, timeout=30)
    await asyncio.sleep(1)
    assert [a["alert_id"] for a in json_lines()] == [alerts[0].alert_id, alerts[1].alert_id]
    line = next(ln for ln in readable.output().splitlines() if "RESOLVED" in ln)
    assert "sentiment_shift" in line
    assert alerts[1].alert_id in line
    assert "mention_spike:zed" not in readable.output()
