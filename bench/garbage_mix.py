"""Good-event throughput of a real worker with and without 10 % garbage mixed into the input.

Usage: .venv/bin/python -m bench.garbage_mix [--events N] [--pairs N]  (~13 min with the defaults)
Writes bench/results/garbage_mix.json. Each run has its own namespace; both runs of a pair feed
the same good events (seeded), the mixed one with one garbage record after every nine good ones.

Two set-ups, each in pairs: the whole worker, and its ingest path alone (detection timers parked).
The clock stops when ingest has applied every event. Detection, meanwhile, catches up on closed
steps as far as it gets: a slower run gives it more time, so the whole worker's window holds more
of its work (cProfile: 48 % more creators judged in a mixed run's window than in a clean one's),
which the garbage does not cause. Detection's work does not depend on garbage at all; the ingest
path is where a bad record costs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
import psutil
from aiokafka import AIOKafkaProducer

from bench.measure import cpu_s
from bench.services import delete_namespace
from bench.window import Mark, measurement_window
from monitor.clients import make_redis
from monitor.generate import Traffic, generate
from monitor.keys import Keys
from monitor.settings import load_settings
from monitor.topics import create_topics

# Typical garbage: small broken records. (Huge ones are refused before parsing but still cost a
# 256 KiB dead letter each; a stream of them is a bandwidth problem, not a parsing one.)
GARBAGE = [
    b"{not json",
    b"\xff\xfe\xfd",
    b"[1, 2, 3]",
    b'{"event_id": 1}',
    b"",
    b'{"event_id": "x", "platform": "ig", "creator_id": "ig:a", "followers": -1}',
]


PARKED = {"MONITOR_DETECT_INTERVAL_S": "86400", "MONITOR_DETECT_STEPS_INTERVAL_S": "86400"}
SETUPS: dict[str, dict[str, str]] = {"whole_worker": {}, "ingest_path": PARKED}


async def run(
    events: list[tuple[str, dict[str, Any]]], garbage: bool, env: dict[str, str]
) -> dict[str, Any]:
    ns = f"bench-gm-{uuid.uuid4().hex[:6]}."
    settings = load_settings(environ={**os.environ, "MONITOR_NAMESPACE": ns})
    await create_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka, acks="all", linger_ms=5, max_request_size=4_000_000
    )
    await producer.start()
    rng = random.Random(1)
    bad = 0
    futures = []
    for i, (topic, event) in enumerate(events):
        key = event["creator_id"].encode()
        futures.append(await producer.send(settings.topic(topic), orjson.dumps(event), key=key))
        if garbage and i % 9 == 8:
            futures.append(await producer.send(settings.topic(topic), rng.choice(GARBAGE), key=key))
            bad += 1
    await asyncio.gather(*futures)
    await producer.stop()
    worker = subprocess.Popen(  # noqa: ASYNC220  # started once; the loop below is what is timed
        [sys.executable, "-m", "monitor", "worker"],
        env={**os.environ, **env, "MONITOR_NAMESPACE": ns},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    start = Mark(time.monotonic(), 0.0, 0)
    proc = psutil.Process(worker.pid)
    redis = make_redis(settings)
    keys = Keys(settings.redis_prefix)
    try:
        first: Mark | None = None
        while True:
            stats = await redis.hgetall(keys.stats)
            dead = sum(int(v) for v in (await redis.hgetall(keys.deadletter_counts)).values())
            done = (
                int(stats.get("applied", 0))
                + int(stats.get("duplicates", 0))
                + int(stats.get("late", 0))
            )
            if first is None and done:
                first = Mark(time.monotonic(), cpu_s(proc), done)
            if done >= len(events) and dead >= bad:
                break
            await asyncio.sleep(0.05)
        assert first is not None
        window = measurement_window(start, first, Mark(time.monotonic(), cpu_s(proc), done))
        return {
            "good_events": len(events),
            "garbage": bad,
            "dead_letters": dead,
            "good_events_per_s": round(window.per_second, 1),
            "worker_cpu_us_per_good_event": round(window.cpu_s_per_record * 1e6, 1),
            # garbage is spread evenly, so the window saw the same share of it as of good events
            "worker_cpu_us_per_record": round(
                window.cpu_s_per_record / (1 + bad / len(events)) * 1e6, 1
            ),
            "window_from_start": window.from_start,
        }
    finally:
        worker.terminate()
        worker.wait(30)
        await delete_namespace(settings, redis)
        await redis.aclose()


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ratios = [r["ratio"] for r in runs]
    cpu_ratios = [r["cpu_ratio"] for r in runs]
    return {
        # as many pairs of each order, so the median weighs both alike
        "ratio": statistics.median(ratios),
        "cpu_ratio": statistics.median(cpu_ratios),
        # a gap between these two is an order effect, not the garbage
        "ratio_by_order": {
            first: statistics.median(r["ratio"] for r in runs if r["first"] == first)
            for first in ("clean", "mixed")
        },
        # what a record costs the worker, good or bad: equal per record means a 10 % share of
        # garbage costs ~10 % of the good throughput
        "cpu_us_per_record": {
            "clean": statistics.median(r["clean"]["worker_cpu_us_per_record"] for r in runs),
            "with_10pct_garbage": statistics.median(
                r["with_10pct_garbage"]["worker_cpu_us_per_record"] for r in runs
            ),
        },
        # the spread between pairs is larger than the effect: quartiles say how sure the median is
        "ratio_quartiles": [round(q, 3) for q in statistics.quantiles(ratios, n=4)],
        "cpu_ratio_quartiles": [round(q, 3) for q in statistics.quantiles(cpu_ratios, n=4)],
        "pairs": runs,
    }


async def main(n_events: int, pairs: int) -> None:
    events = list(
        generate(Traffic(seed=3, creators=300, hours=48, comments_per_hour=n_events // 96))
    )
    # Clean and mixed runs alternate, so a busy neighbour on the machine hits both alike, and take
    # turns going first: a run pays for what the one before it left (the broker deletes that
    # run's topics a minute later), and that must not always fall on the same side. The ratio
    # reported is the median of the pairs' ratios.
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETUPS}
    for i in range(pairs):
        for name, env in SETUPS.items():
            order = (False, True) if i % 2 == 0 else (True, False)
            done = {garbage: await run(events, garbage=garbage, env=env) for garbage in order}
            clean, mixed = done[False], done[True]
            ratio = round(mixed["good_events_per_s"] / clean["good_events_per_s"], 3)
            # the worker is CPU-bound: its CPU per good event is the steadier view of the cost
            cpu_ratio = round(
                clean["worker_cpu_us_per_good_event"] / mixed["worker_cpu_us_per_good_event"], 3
            )
            c, m = clean, mixed
            print(
                f"{name:12s} {'mixed' if order[0] else 'clean'} first: "
                f"clean {c['good_events_per_s']:>8,.0f} ev/s "
                f"({c['worker_cpu_us_per_good_event']} µs CPU/event)   with garbage "
                f"{m['good_events_per_s']:>8,.0f} ev/s ({m['worker_cpu_us_per_good_event']} µs, "
                f"{m['worker_cpu_us_per_record']} µs per record)   ratio {ratio}, "
                f"CPU ratio {cpu_ratio}",
                flush=True,
            )
            runs[name].append(
                {
                    "first": "mixed" if order[0] else "clean",
                    "clean": clean,
                    "with_10pct_garbage": mixed,
                    "ratio": ratio,
                    "cpu_ratio": cpu_ratio,
                }
            )
    result: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "-m", "bench.garbage_mix", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "os_load_avg": os.getloadavg(),
        **{name: summary(r) for name, r in runs.items()},
    }
    # the summary on screen; every pair's runs are in the file
    print(
        json.dumps(
            {**result, **{name: {**result[name], "pairs": "…"} for name in SETUPS}}, indent=2
        )
    )
    out = Path(__file__).parent / "results" / "garbage_mix.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--pairs", type=int, default=10)
    args = parser.parse_args()
    if args.pairs < 2 or args.pairs % 2:
        parser.error("--pairs: an even number, at least 2 (each order as often; quartiles)")
    asyncio.run(main(args.events, args.pairs))
