"""``monitor generate``, ``replay`` and ``evaluate``: feed the pipeline, score its alerts."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.core.units import MINUTE_MS
from monitor.kafka.clients import kafka_client_options
from monitor.kafka.topics import ALERTS, create_topics, delete_namespace_topics
from monitor.settings import Settings, replace
from monitor.sim.produce import produce_events
from monitor.sim.scenario import Scenario, Truth, iter_jsonl, standard, truth_json
from monitor.store.client import make_redis
from monitor.store.keys import DETECT_STEP_MS, Keys, namespace_pattern
from schemas.codec import dumps, loads
from schemas.events import parse_time_ms


def _generate(settings: Settings, args: argparse.Namespace) -> int:
    sc = standard(seed=args.seed, hours=args.hours, creators=args.creators)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with (out / "events.jsonl").open("wb") as f:
            for line in iter_jsonl(sc):
                f.write(dumps(line) + b"\n")
        (out / "truth.json").write_bytes(dumps(truth_json(sc)))
        (out / "rules.toml").write_text(sc.rules_toml, encoding="utf-8")
        print(f"wrote {len(sc.events)} events, truth and rules to {out}")
        return 0

    async def run() -> int:
        await create_topics(settings)
        await apply_rules(settings, parse_rules_toml(sc.rules_toml))
        return await produce_events(settings, sc.events, rate=args.rate)

    n = asyncio.run(run())
    print(f"produced {n} events")
    return 0


def _replay(settings: Settings, args: argparse.Namespace) -> int:
    def lines() -> Iterable[tuple[str, dict[str, Any]]]:
        with Path(args.file).open("rb") as f:
            for raw in f:
                if raw.strip():
                    rec = loads(raw)
                    yield (rec["topic"], rec["event"]) if "event" in rec else (args.topic, rec)

    async def run() -> int:
        await create_topics(settings)
        return await produce_events(settings, lines(), rate=args.rate)

    print(f"replayed {asyncio.run(run())} events")
    return 0


# --- evaluate ----------------------------------------------------------------------------------


async def _wait_detected(settings: Settings, timeout_s: float) -> None:
    redis = make_redis(settings)
    keys = Keys(settings.redis_prefix)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            wm = int(await redis.get(keys.watermark) or 0)
            minute = int(await redis.get(keys.detect_minute) or -1)
            step = int(await redis.get(keys.detect_step) or -1)
            outbox = await redis.llen(keys.detect_outbox)
            if (
                wm
                and minute >= wm // MINUTE_MS - 1
                and step >= wm // DETECT_STEP_MS - 1
                and not outbox
            ):
                return
            await asyncio.sleep(1)
        raise TimeoutError("detection did not reach the end of the scenario in time")
    finally:
        await redis.aclose()


async def read_alerts(settings: Settings) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        settings.topic(ALERTS),
        **kafka_client_options(settings),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    out: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            for records in batch.values():
                out.extend(loads(r.value) for r in records)
    finally:
        await consumer.stop()
    return out


def score(
    sc: Scenario, alerts: list[dict[str, Any]], *, horizon_ms: int = 6 * 3_600_000
) -> dict[str, Any]:
    """Precision, recall and detection delay per alert type (feed records; band infos aside)."""
    firing: dict[str, dict[str, Any]] = {}
    for a in alerts:
        if a["status"] != "firing" or a["severity"] == "info":
            continue
        if a["type"] in ("audience_growth",) and a["brand"] is not None:
            continue  # per-brand copies of a creator alert: count the feed record once
        firing.setdefault(a["alert_id"], a)
    report: dict[str, Any] = {}
    for kind in ("mention_spike", "audience_growth", "sentiment_shift", "engagement_spike"):
        truths = [t for t in sc.truth if t.type == kind]
        mine = [a for a in firing.values() if a["type"] == kind]
        matched_truth, delays, true_alerts = 0, [], set[str]()
        decoys = [d for d in sc.decoys if d.type == kind]
        for t in truths:
            hits = _hits(kind, t, mine, horizon_ms)
            if hits:
                matched_truth += 1
                first = min(parse_time_ms(a["event_time"]) or 0 for a in hits)
                delays.append((first - t.start_ms) / 60_000)
                true_alerts.update(a["alert_id"] for a in hits)
        delays.sort()
        report[kind] = {
            "planted": len(truths),
            "detected": matched_truth,
            "alerts": len(mine),
            "recall": round(matched_truth / len(truths), 3) if truths else None,
            "precision": round(len(true_alerts) / len(mine), 3) if mine else None,
            "median_delay_min": delays[len(delays) // 2] if delays else None,
            "decoys": len(decoys),
            "decoys_flagged": sum(1 for d in decoys if _hits(kind, d, mine, horizon_ms)),
            "false_alerts": sorted(a["alert_id"] for a in mine if a["alert_id"] not in true_alerts),
        }
    return report


def _hits(
    kind: str, t: Truth, alerts: list[dict[str, Any]], horizon_ms: int
) -> list[dict[str, Any]]:
    """Alerts on the row's subject that began within ``horizon_ms`` of its start."""
    return [
        a
        for a in alerts
        if (a["brand"] if kind == "mention_spike" else a["creator_id"] or a["brand"]) == t.subject
        and 0 <= (parse_time_ms(a["event_time"]) or 0) - t.start_ms <= horizon_ms
    ]


async def _drop_namespace(settings: Settings) -> None:
    """Remove an evaluation's own topics and Redis keys (its namespace was made up for it)."""
    redis = make_redis(settings)
    try:
        async for key in redis.scan_iter(match=namespace_pattern(settings.namespace), count=1000):
            await redis.delete(key)
    finally:
        await redis.aclose()
    await delete_namespace_topics(settings)


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    own_namespace = not settings.namespace
    if own_namespace:
        settings = replace(settings, namespace=f"eval-{uuid.uuid4().hex[:8]}.")
    sc = standard(seed=args.seed, hours=args.hours, creators=args.creators)
    started = time.monotonic()
    asyncio.run(create_topics(settings))
    asyncio.run(apply_rules(settings, parse_rules_toml(sc.rules_toml)))
    env = {**os.environ, "MONITOR_NAMESPACE": settings.namespace, "MONITOR_PARTITION_IDLE_S": "2"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "monitor", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        asyncio.run(produce_events(settings, sc.events))
        asyncio.run(_wait_detected(settings, args.timeout))
        alerts = asyncio.run(read_alerts(settings))
    finally:
        worker.terminate()
        worker.wait(30)
        if own_namespace:
            asyncio.run(_drop_namespace(settings))
    results = score(sc, alerts)
    report: dict[str, Any] = {
        "scenario": {
            "seed": args.seed,
            "hours": args.hours,
            "creators": args.creators,
            "events": len(sc.events),
        },
        "truth": truth_json(sc),
        "results": results,
        "wall_s": round(time.monotonic() - started, 1),
    }
    if args.json:
        sys.stdout.write(dumps(report).decode() + "\n")
    else:
        _print_table(results)
    if args.out:
        Path(args.out).write_bytes(dumps(report) + b"\n")
    return 0


def _print_table(results: dict[str, Any]) -> None:
    """One row per alert type; decoys flagged is how many decoys drew an alert of that type."""
    head = (
        "type",
        "planted",
        "detected",
        "alerts",
        "recall",
        "precision",
        "median delay",
        "decoys flagged",
    )
    widths = (-18, 7, 8, 6, 6, 9, 13, 15)
    print(
        " ".join(f"{h:<{-w}}" if w < 0 else f"{h:>{w}}" for h, w in zip(head, widths, strict=True))
    )
    for kind, r in results.items():
        delay = "-" if r["median_delay_min"] is None else f"{r['median_delay_min']:.0f} min"
        print(
            f"{kind:<18} {r['planted']:>7} {r['detected']:>8} {r['alerts']:>6} "
            f"{_pct(r['recall']):>6} {_pct(r['precision']):>9} {delay:>13} "
            f"{r['decoys_flagged']:>7}/{r['decoys']:<7}"
        )


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0%}"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    for name, fn, help_text in (
        ("generate", _generate, "seeded synthetic traffic with planted events"),
        ("evaluate", _evaluate, "run the standard scenario through the pipeline and score alerts"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--seed", type=int, default=11)
        p.add_argument("--hours", type=int, default=36)
        p.add_argument("--creators", type=int, default=150)
        p.set_defaults(run=fn)
        if name == "generate":
            p.add_argument(
                "--out", help="write events.jsonl, truth.json, rules.toml here instead of Kafka"
            )
            p.add_argument(
                "--rate", type=float, help="events per second (default: as fast as possible)"
            )
        else:
            p.add_argument("--json", action="store_true")
            p.add_argument("--out", help="also write the JSON report to this file")
            p.add_argument("--timeout", type=float, default=600)
    replay = sub.add_parser(
        "replay", help="produce a JSON-lines file of events to the input topics"
    )
    replay.add_argument("file")
    replay.add_argument(
        "--topic", default="social.comments", help="topic for lines that are bare events"
    )
    replay.add_argument("--rate", type=float)
    replay.set_defaults(run=_replay)
