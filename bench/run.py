"""The monitor's benchmark, one command: load a seeded workload, measure ceiling, worker, latency.

    .venv/bin/python -m bench.run                # the issue's 1,000,000-event workload
    .venv/bin/python -m bench.run --events 200000
    .venv/bin/python -m bench.run --smoke        # tiny, for CI: checks that it runs, times nothing

Writes ``bench/results/<name>.json`` (command line and machine inside) and prints a table.
Kafka is the shared broker (topics under a fresh ``bench-<id>.`` namespace, deleted at the end);
Redis is a private ``redis-server`` started for the run unless ``--redis URL`` is given, so that
command counts, round trips and Redis CPU belong to the worker alone. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sys
import time
import uuid
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import redis.asyncio as aioredis

from bench import faust_floor, latency, micro
from bench.measure import ceiling, run_workers, worker_env
from bench.services import (
    SHARED_REDIS,
    PrivateRedis,
    bench_settings,
    delete_namespace,
    end_offsets,
    input_partitions,
    produce,
    tmp_dir,
)
from bench.workload import WorkloadSpec, encoded, generate, make_brands, rules_toml
from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.kafka.topics import create_topics
from schemas.codec import dumps

RESULTS = Path(__file__).resolve().parent / "results"
SMOKE_EVENTS = 3_000


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for dist in ("faust-streaming", "aiokafka", "redis", "orjson", "vaderSentiment", "hiredis"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions,
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _print_table(result: dict[str, Any]) -> None:
    c, f, w = result["ceiling"], result["faust_floor"], result["worker"]
    rows = [
        ("events", f"{result['workload']['events']:,}"),
        ("ceiling (bare aiokafka + orjson)", f"{c['events_per_s']:,} ev/s"),
        ("faust baseline (an agent that only counts)", f"{f['events_per_s']:,} ev/s"),
        ("worker, 1 process", f"{w['events_per_s']:,} ev/s"),
        ("worker / ceiling", f"{result['ratio']:.1%}"),
        ("worker / faust baseline", f"{result['ratio_to_faust_floor']:.1%}"),
        ("worker CPU", f"{w['cpu_s_per_million']} s per million events"),
        ("Redis commands / event", f"{w['redis_commands_per_event']}"),
        ("Redis round trips / event", f"{w['redis_round_trips_per_event']}"),
        ("worker peak RSS", f"{w['peak_rss_mb']} MB"),
    ]
    lat = result.get("latency")
    if lat and lat.get("p50_ms") is not None:
        rows.append(
            (
                f"alert latency at {lat['rate_events_per_s']:,} ev/s",
                f"p50 {lat['p50_ms']} / p99 {lat['p99_ms']} / max {lat['max_ms']} ms "
                f"({lat['alerts']}/{lat['spikes']} spikes)",
            )
        )
    for s in result.get("scaling", []):
        rows.append((f"scaling: {s['processes']} processes", f"{s['events_per_s']:,} ev/s"))
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    events = SMOKE_EVENTS if args.smoke else args.events
    spec = WorkloadSpec(events=events, seed=args.seed)
    run_id = uuid.uuid4().hex[:8]
    private = None if args.redis else PrivateRedis()
    redis_url = args.redis or (private.url if private else SHARED_REDIS)
    settings = bench_settings(f"bench-{run_id}.", redis_url, args.partitions)
    lat_settings = bench_settings(f"bench-{run_id}-lat.", redis_url, args.partitions)
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    log_dir = tmp_dir()
    extra_env = dict(kv.split("=", 1) for kv in args.worker_env)
    result: dict[str, Any] = {
        "command": shlex.join([sys.executable, "-m", "bench.run", *sys.argv[1:]]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": _load(),
        "redis": "private redis-server" if private else redis_url,
        "kafka": settings.kafka,
        "partitions_per_topic": args.partitions,
        "worker_settings": extra_env,
    }  # fmt: skip
    phases: dict[str, float] = {}
    result["phase_seconds"] = phases
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        phases[name] = round(now - mark, 1)
        mark = now
        print(f"[bench] {name}: {phases[name]} s", file=sys.stderr, flush=True)

    try:
        t = time.perf_counter()
        records = encoded(generate(spec))
        brands = make_brands(spec.seed)
        result["workload"] = {
            "events": len(records),
            "creators": spec.creators,
            "brands": len(brands),
            "terms_per_brand": [len(b.terms) for b in brands],
            "event_time_hours": round(spec.hours, 2),
            "seed": spec.seed,
            "by_topic": {
                t: sum(1 for r in records if r[0] == t)
                for t in ("social.comments", "social.posts", "social.audience")
            },
            "mean_value_bytes": round(sum(len(r[2]) for r in records) / len(records), 1),
            "generate_s": round(time.perf_counter() - t, 1),
        }
        phase("generate")
        await create_topics(settings, log_append_time=True)
        await apply_rules(settings, parse_rules_toml(rules_toml(brands)))
        phase("topics_and_rules")
        n, load_s, _ = await produce(settings, records)
        result["load"] = {"events": n, "seconds": round(load_s, 1)}
        del records
        tps = await input_partitions(settings)
        ends = await end_offsets(settings, tps)
        total = sum(ends.values())
        runs = [await ceiling(settings, tps, total) for _ in range(args.ceiling_runs)]
        result["ceiling"] = max(runs, key=lambda r: r["events_per_s"])
        result["ceiling_runs"] = [r["events_per_s"] for r in runs]
        phase("load_and_ceiling")
        result["faust_floor"] = await faust_floor.measure(
            worker_env(settings, log_dir, extra_env), total, log_dir / "faust-floor.log"
        )
        phase("faust_floor")
        profile = Path(args.profile) if args.profile else None
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)  # py-spy writes no folder of its own
        common = {
            "settings": settings,
            "redis": redis,
            "tps": tps,
            "ends": ends,
            "private": private is not None,
            "log_dir": log_dir,
            "detect_timeout_s": args.detect_timeout,
            "profile": profile,
            "extra_env": extra_env,
        }
        result["worker"] = await run_workers(processes=1, **common)
        phase("worker")
        result["ratio"] = round(
            result["worker"]["events_per_s"] / result["ceiling"]["events_per_s"], 4
        )
        result["ratio_to_faust_floor"] = round(
            result["worker"]["events_per_s"] / result["faust_floor"]["events_per_s"], 4
        )
        if args.scaling:
            result["scaling"] = [
                {**result["worker"], "processes": 1},
                *[await run_workers(processes=p, **common) for p in (2, 4)],
            ]
            result["scaling"] = [
                {k: s[k] for k in ("processes", "events_per_s", "cpu_s_per_million", "peak_rss_mb",
                                   "seconds", "startup_s")}
                for s in result["scaling"]
            ]  # fmt: skip
            phase("scaling")
        if args.latency_s > 0:
            rate = args.latency_rate or max(50, result["worker"]["events_per_s"] // 2)
            result["latency"] = await latency.measure(
                settings=lat_settings,
                redis=redis,
                private=private is not None,
                spec=spec,
                rate=rate,
                seconds=args.latency_s,
                log_dir=log_dir,
                history_min=2_000 if args.smoke else 5_000,
                settle_s=2.0 if args.smoke else 5.0,
                extra_env=extra_env,
            )
            phase("latency")
        if args.micro:
            result["micro"] = await micro.run(spec, redis, sample=min(events, 20_000))
            phase("micro")
    finally:
        result["load_average_after"] = _load()
        result["logs"] = str(log_dir)
        for s in (settings, lat_settings):
            try:
                await delete_namespace(s, redis if private is None else None)
            except Exception as exc:  # clean-up must not hide the run's own error
                print(f"clean-up of {s.namespace} failed: {exc!r}", file=sys.stderr)
        await redis.aclose()
        if private is not None:
            private.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--smoke", action="store_true", help=f"{SMOKE_EVENTS} events, short phases")
    p.add_argument("--seed", type=int, default=WorkloadSpec().seed)
    p.add_argument("--partitions", type=int, default=8)
    p.add_argument("--redis", help="use this Redis instead of a private redis-server")
    p.add_argument("--ceiling-runs", type=int, default=2)
    p.add_argument("--no-scaling", dest="scaling", action="store_false")
    p.add_argument("--no-micro", dest="micro", action="store_false")
    p.add_argument("--latency-s", type=float, default=60.0, help="paced phase length; 0 skips")
    p.add_argument(
        "--latency-rate", type=int, help="paced rate in events/s (default: half the worker's)"
    )
    p.add_argument("--detect-timeout", type=float, default=600.0)
    p.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="MONITOR_X=VALUE",
        help="a setting for the worker processes (repeatable), e.g. MONITOR_DETECT_INTERVAL_S=0.1",
    )
    p.add_argument("--profile", help="record py-spy profiles of the workers into this folder")
    p.add_argument("--name", help="results file name (default: events-<N>, smoke: smoke)")
    p.add_argument("--out", help="write the JSON here instead of bench/results/<name>.json")
    args = p.parse_args(argv)
    if args.smoke:
        args.scaling = False
        args.latency_s = min(args.latency_s, 5.0)
        args.ceiling_runs = 1
        args.detect_timeout = min(args.detect_timeout, 15.0)
    result = asyncio.run(bench(args))
    name = args.name or ("smoke" if args.smoke else f"events-{result['workload']['events']}")
    out = Path(args.out) if args.out else RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(dumps(result) + b"\n")
    _print_table(result)
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
