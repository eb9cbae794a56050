"""``/metrics``: counts and watermarks from Redis in Prometheus text format.

No settings and no secrets: only what the workers count in Redis and this process's stream clients.
Reading (one pipelined round trip) is apart from rendering, which is plain data in, text out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from monitor.store.creators import refreshed_watermark
from monitor.web.api import CTX, WebContext

Sample = tuple[str, Any]  # (label set such as '{code="x"}' or "", value as Redis returned it)


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: Literal["gauge", "counter"]
    help_text: str
    samples: Sequence[Sample]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(raw: Any) -> float | None:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return None


def labelled(label: str, values: Mapping[str, Any]) -> list[Sample]:
    """One sample per hash field, the field as the label's (escaped) value, sorted."""
    return [(f'{{{label}="{_label(key)}"}}', value) for key, value in sorted(values.items())]


def render(exposed: Iterable[Metric]) -> str:
    """Prometheus text exposition; samples whose value is not a number are left out."""
    lines: list[str] = []
    for m in exposed:
        lines.append(f"# HELP {m.name} {m.help_text}")
        lines.append(f"# TYPE {m.name} {m.kind}")
        for labels, value in m.samples:
            number = _number(value)
            if number is not None:
                lines.append(f"{m.name}{labels} {number:.17g}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, slots=True, kw_only=True)
class Counts:
    """What ``/metrics`` shows from Redis, as Redis returned it (strings, ints or None)."""

    watermark: Any
    refreshed: Any
    creators: Any
    communities: Any
    brands: Any
    rules: Any
    alerts: Any
    deadletters: Mapping[str, Any]
    stats: Mapping[str, Any]
    partition_watermarks: Mapping[str, Any]


async def read_counts(ctx: WebContext) -> Counts:
    """Every count in one pipelined round trip (no transaction: each value stands alone)."""
    k = ctx.keys
    pipe = ctx.redis.pipeline(transaction=False)
    pipe.get(k.watermark)
    pipe.hget(k.refreshed, "progress")
    for key in (k.creators, k.communities, k.brands):
        pipe.zcard(key)
    pipe.hlen(k.rules)
    pipe.xlen(k.alerts_stream)
    for key in (k.deadletter_counts, k.stats, k.partition_watermarks):
        pipe.hgetall(key)
    (
        wm,
        refreshed,
        creators,
        communities,
        brands,
        rules,
        alerts,
        dead,
        stats,
        pwm,
    ) = await pipe.execute()
    return Counts(
        watermark=wm,
        refreshed=refreshed,
        creators=creators,
        communities=communities,
        brands=brands,
        rules=rules,
        alerts=alerts,
        deadletters=dead,
        stats=stats,
        partition_watermarks=pwm,
    )


def metrics(c: Counts, *, stream_clients: int) -> list[Metric]:
    """The exposition's metrics, in the order they are shown."""
    return [
        Metric(
            "monitor_watermark_ms",
            "gauge",
            "Newest event time seen (ms).",
            [("", c.watermark or 0)],
        ),
        Metric(
            "monitor_leaderboard_refreshed_watermark_ms",
            "gauge",
            "Watermark of the last full leaderboard refresh (ms).",
            [("", refreshed_watermark(c.refreshed))],
        ),
        Metric("monitor_creators", "gauge", "Creators in the live tables.", [("", c.creators)]),
        Metric(
            "monitor_communities", "gauge", "Communities in the live tables.", [("", c.communities)]
        ),
        Metric(
            "monitor_brands_mentioned",
            "gauge",
            "Brands with at least one mention.",
            [("", c.brands)],
        ),
        Metric("monitor_brand_rules", "gauge", "Brand rules the workers know.", [("", c.rules)]),
        Metric(
            "monitor_alerts_in_stream",
            "gauge",
            "Alerts held in the capped stream.",
            [("", c.alerts)],
        ),
        Metric(
            "monitor_deadletters_total",
            "counter",
            "Records sent to the dead-letter topic, by reason.",
            labelled("code", c.deadletters),
        ),
        Metric(
            "monitor_worker_stats_total",
            "counter",
            "Worker counters from its stats hash (applied, duplicates, late events, ...).",
            labelled("stat", c.stats),
        ),
        Metric(
            "monitor_partition_watermark_ms",
            "gauge",
            "Newest event time seen per input partition (ms).",
            labelled("partition", c.partition_watermarks),
        ),
        Metric(
            "monitor_web_stream_clients",
            "gauge",
            "Live alert-stream clients of this web process.",
            [("", stream_clients)],
        ),
    ]


async def prometheus(request: web.Request) -> web.StreamResponse:
    """Counts and watermarks from Redis, in Prometheus text format. No settings, no secrets."""
    ctx = request.app[CTX]
    return web.Response(
        text=render(metrics(await read_counts(ctx), stream_clients=ctx.stream_clients)),
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type-Options": "nosniff"},
    )


__all__ = ["Counts", "Metric", "labelled", "metrics", "prometheus", "read_counts", "render"]
