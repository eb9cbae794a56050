"""``monitor notify``: delivery latency (alert on the topic → webhook hit) and a Slack outage.

Runs the real notifier as a subprocess against the real Kafka and Redis, each scenario under a
namespace of its own, with a local HTTP server that answers like Slack's webhook endpoint:

- ``paced``: 200 alerts, ``--group-wait 0``, 10 brands each with its own webhook, produced so that
  no webhook is ever asked for more than Slack's one message per second: the pipeline's own latency.
- ``burst``: 200 alerts produced at once for 10 brands sharing the default webhook: grouping and the
  one-message-per-second limit decide how fast the queue drains.
- ``outage``: the endpoint answers 503 for ``--outage-s`` seconds (default 600: a 10-minute outage)
  while alerts keep coming at one per second, then recovers; counts what was delivered and
  dead-lettered and how long the backlog took to drain (default settings: group wait 30 s,
  retry bound 600 s).
- ``outage_past_bound``: the same with an outage (90 s) longer than the retry bound (60 s).

Latency is measured from the producer's ack (the alert is on the topic) to the request's arrival at
the fake Slack, on one host, so both ends use the same clock. Prints a summary and writes
``bench/results/notifier_latency.json``. Redis keys of its namespaces are deleted at the end.

    .venv/bin/python bench/notifier_latency.py [--alerts 200] [--outage-s 600]
        [--retry-max-s 600] [--scenarios paced,burst,outage,outage_past_bound] [--merge]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from monitor.brands.publish import apply_rules  # noqa: E402
from monitor.brands.validate import parse_rules_toml  # noqa: E402
from monitor.kafka.topics import create_topics  # noqa: E402
from monitor.settings import Settings, load_settings  # noqa: E402
from monitor.store.client import make_redis  # noqa: E402  # after the repo is on sys.path
from schemas.records import Alert  # noqa: E402
from tests.helpers import read_topic  # noqa: E402

RESULTS = REPO / "bench" / "results" / "notifier_latency.json"
KAFKA = os.environ.get("MONITOR_KAFKA", "127.0.0.1:9092")
REDIS = os.environ.get("MONITOR_REDIS", "redis://127.0.0.1:6379/0")
BRANDS = [f"brand{i:02d}" for i in range(10)]
# The notifier as `monitor notify` runs it, without depending on how cli.py is wired.
RUNNER = """
import sys
from monitor.logs import configure_logging
from monitor.cli.notify import add_notify_arguments, main_notify
from monitor.settings import load_settings
import argparse
parser = argparse.ArgumentParser()
add_notify_arguments(parser)
settings = load_settings()
configure_logging(level=settings.log_level, fmt=settings.log_format)
sys.exit(main_notify(settings, parser.parse_args(sys.argv[1:])))
"""


@dataclass
class FakeSlack:
    port: int = 0
    down_until: float = 0.0  # wall clock: answer 503 until then
    arrivals: dict[str, float] = field(default_factory=dict)  # alert_id -> first 200 arrival
    requests: list[tuple[float, str, int, int]] = field(default_factory=list)  # at, path, status, n

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.Response:
        now = time.time()
        payload = orjson.loads(await request.read())
        ids = [
            m.group(1)
            for block in payload.get("blocks", [])
            if block.get("type") == "context"
            for el in block.get("elements", [])
            if (m := re.match(r"`([^`]+)`", el.get("text", "")))
        ]
        status = 503 if now < self.down_until else 200
        self.requests.append((now, request.path, status, len(ids)))
        if status == 200:
            for alert_id in ids:
                self.arrivals.setdefault(alert_id, now)
        return web.Response(status=status, text="ok" if status == 200 else "service_unavailable")


def make_alert(n: int, brand: str) -> Alert:
    return Alert(
        alert_id=f"bench:{brand}:{n}",
        type="mention_spike",
        status="firing",
        severity="warning",
        brand=brand,
        creator_id=None,
        community=None,
        window="15m",
        value=40 + n,
        baseline=6.1,
        score=1.2e-9,
        threshold=1e-4,
        event_time="2026-11-20T10:15:00Z",
        detected_at="2026-11-20T10:15:03Z",
        summary=f"{brand}: {40 + n} mentions in 15 min",
        evidence={"top_posts": [{"post_id": str(n), "creator_id": "ig:a", "text": "wow"}]},
    )


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float | int]:
    ms = [v * 1000 for v in latencies_s]
    if not ms:
        return {"count": 0}
    return {
        "count": len(ms),
        "p50_ms": round(percentile(ms, 0.50), 1),
        "p90_ms": round(percentile(ms, 0.90), 1),
        "p99_ms": round(percentile(ms, 0.99), 1),
        "min_ms": round(min(ms), 1),
        "max_ms": round(max(ms), 1),
    }


class Scenario:
    """One namespace, one fake Slack, one notifier process."""

    def __init__(self, name: str, logs: Path) -> None:
        self.name = name
        self.namespace = f"bench{uuid.uuid4().hex[:8]}."
        self.env = {
            "MONITOR_NAMESPACE": self.namespace,
            "MONITOR_KAFKA": KAFKA,
            "MONITOR_REDIS": REDIS,
            "MONITOR_LOG_FORMAT": "json",
            "MONITOR_BROKER_SESSION_TIMEOUT_S": "6",
        }
        self.settings: Settings = load_settings(environ=self.env)
        self.slack = FakeSlack()
        self.log_path = logs / f"{name}.log"
        self.produced_at: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._producer: AIOKafkaProducer | None = None

    async def __aenter__(self) -> Scenario:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.slack.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.slack.port = self._runner.addresses[0][1]
        await create_topics(self.settings)
        self._producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=0)
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            await asyncio.wait_for(self._proc.wait(), 30)
        if self._producer is not None:
            await self._producer.stop()
        if self._runner is not None:
            await self._runner.cleanup()
        redis = make_redis(self.settings)
        async for key in redis.scan_iter(match=f"{self.namespace}*", count=1000):
            await redis.delete(key)
        await redis.aclose()

    async def brand_webhooks(self) -> None:
        lines = []
        for brand in BRANDS:
            lines += [f"[brands.{brand}]", f'name = "{brand}"', f'terms = ["{brand}"]']
            lines.append(f'slack_webhook = "{self.slack.url(f"/services/T/{brand}/tok")}"')
        await apply_rules(self.settings, parse_rules_toml("\n".join(lines)))

    async def start_notifier(self, *flags: str, default_webhook: bool) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")} | self.env
        if default_webhook:
            env["MONITOR_SLACK_WEBHOOK"] = self.slack.url("/services/T/default/tok")
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", RUNNER, *flags, env=env, cwd=REPO, stdout=log, stderr=log
            )
        # Wait until the notifier consumes: a warm-up alert must come through.
        await self.send(make_alert(-1, BRANDS[0]))
        await self.wait_delivered(1, within_s=60)
        self.slack.arrivals.clear()
        self.slack.requests.clear()
        self.produced_at.clear()
        await asyncio.sleep(1.1)  # past the warm-up message's pacing slot

    async def send(self, alert: Alert) -> None:
        assert self._producer is not None
        topic = self.settings.topic("monitor.alerts")
        # Timed from the send, not the ack: the notifier can post before the ack is seen here.
        self.produced_at[alert.alert_id] = time.time()
        await self._producer.send_and_wait(topic, alert.to_json(), key=alert.key)

    async def wait_delivered(self, count: int, within_s: float) -> bool:
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            if len(self.slack.arrivals) >= count:
                return True
            if self._proc is not None and self._proc.returncode is not None:
                raise RuntimeError(f"notifier exited; see {self.log_path}")
            await asyncio.sleep(0.05)
        return False

    def latencies(self) -> list[float]:
        return [
            self.slack.arrivals[a] - t
            for a, t in self.produced_at.items()
            if a in self.slack.arrivals
        ]

    async def dead_letters(self) -> int:
        return len(await read_topic(self.settings, "monitor.deadletter", timeout_ms=1500))


async def paced(alerts: int, logs: Path) -> dict[str, Any]:
    async with Scenario("paced", logs) as sc:
        await sc.brand_webhooks()
        await sc.start_notifier("--group-wait", "0", default_webhook=False)
        interval = 0.15  # one brand every 1.5 s: never queued behind the per-webhook limit
        for n in range(alerts):
            started = time.monotonic()
            await sc.send(make_alert(n, BRANDS[n % len(BRANDS)]))
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        ok = await sc.wait_delivered(alerts, within_s=60)
        return {
            "what": "200 alerts over 10 brand webhooks, group_wait 0, no webhook over 1 msg/s",
            "alerts": alerts,
            "all_delivered": ok,
            "messages": len(sc.slack.requests),
            "latency": latency_summary(sc.latencies()),
        }


async def burst(alerts: int, logs: Path) -> dict[str, Any]:
    async with Scenario("burst", logs) as sc:
        await sc.start_notifier("--group-wait", "0", default_webhook=True)
        t0 = time.time()
        for n in range(alerts):
            await sc.send(make_alert(n, BRANDS[n % len(BRANDS)]))
        ok = await sc.wait_delivered(alerts, within_s=300)
        last = max(sc.slack.arrivals.values(), default=t0)
        return {
            "what": "200 alerts at once, 10 brands, one shared webhook, group_wait 0",
            "alerts": alerts,
            "all_delivered": ok,
            "messages": len(sc.slack.requests),
            "drain_s": round(last - t0, 1),
            "latency": latency_summary(sc.latencies()),
        }


async def outage(
    name: str, outage_s: float, retry_max_s: float, group_wait_s: float, logs: Path
) -> dict[str, Any]:
    async with Scenario(name, logs) as sc:
        await sc.start_notifier(
            "--group-wait",
            str(group_wait_s),
            "--retry-max-s",
            str(retry_max_s),
            default_webhook=True,
        )
        down_at = time.time()
        sc.slack.down_until = down_at + outage_s
        n = 0
        # Alerts keep coming at one per second through the outage and 30 s past it.
        while time.time() < sc.slack.down_until + 30:
            await sc.send(make_alert(n, BRANDS[n % len(BRANDS)]))
            n += 1
            await asyncio.sleep(1.0)
        deadline = time.monotonic() + retry_max_s + 300
        dead = 0
        while time.monotonic() < deadline:
            dead = await sc.dead_letters()
            if len(sc.slack.arrivals) + dead >= n:
                break
            await asyncio.sleep(1)
        up_at = sc.slack.down_until
        delivered_after = [t for t in sc.slack.arrivals.values() if t >= up_at]
        during = [r for r in sc.slack.requests if r[0] < up_at]
        backlog = [a for a, t in sc.produced_at.items() if t < up_at]
        backlog_done = [sc.slack.arrivals[a] for a in backlog if a in sc.slack.arrivals]
        return {
            "what": "endpoint answers 503 for outage_s while alerts arrive at 1/s, then recovers",
            "outage_s": outage_s,
            "retry_max_s": retry_max_s,
            "group_wait_s": group_wait_s,
            "alerts": n,
            "delivered": len(sc.slack.arrivals),
            "dead_lettered": dead,
            "lost": n - len(sc.slack.arrivals) - dead,
            "requests_during_outage": len(during),
            "first_delivery_after_recovery_s": round(min(delivered_after) - up_at, 1)
            if delivered_after
            else None,
            "alerts_during_outage": len(backlog),
            "outage_alerts_delivered": len(backlog_done),
            "outage_backlog_drained_after_recovery_s": round(max(backlog_done) - up_at, 1)
            if backlog_done
            else None,
            "everything_drained_after_recovery_s": round(max(delivered_after) - up_at, 1)
            if delivered_after
            else None,
            "messages_after_recovery": len([r for r in sc.slack.requests if r[0] >= up_at]),
            "latency": latency_summary(sc.latencies()),
        }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    logs = Path(tempfile.mkdtemp(prefix="notifier-bench-"))
    report: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"python": platform.python_version(), "machine": platform.machine()},
        "kafka": KAFKA,
        "logs": str(logs),
    }
    chosen = args.scenarios.split(",")
    if "paced" in chosen:
        report["paced"] = await paced(args.alerts, logs)
    if "burst" in chosen:
        report["burst"] = await burst(args.alerts, logs)
    if "outage" in chosen:
        report["outage"] = await outage("outage", args.outage_s, args.retry_max_s, 30.0, logs)
    if "outage_past_bound" in chosen:
        # An outage longer than the retry bound: the message being retried is dead-lettered at
        # the bound, everything queued behind it is tried afresh and delivered.
        report["outage_past_bound"] = await outage(
            "outage_past_bound", args.bound_outage_s, args.bound_retry_max_s, 1.0, logs
        )
    for name in chosen:
        print(f"{name}:", orjson.dumps(report.get(name)).decode(), flush=True)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--outage-s", type=float, default=600.0)
    parser.add_argument("--retry-max-s", type=float, default=600.0, help="the notifier's bound")
    parser.add_argument("--bound-outage-s", type=float, default=90.0)
    parser.add_argument("--bound-retry-max-s", type=float, default=60.0)
    parser.add_argument(
        "--scenarios", default="paced,burst,outage,outage_past_bound", help="comma-separated"
    )
    parser.add_argument("--merge", action="store_true", help="update the scenarios in --out")
    parser.add_argument("--out", type=Path, default=RESULTS)
    cli = parser.parse_args()
    result = asyncio.run(main(cli))
    if cli.merge and cli.out.exists():
        result = orjson.loads(cli.out.read_bytes()) | result
    cli.out.parent.mkdir(parents=True, exist_ok=True)
    cli.out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"wrote {cli.out}")
