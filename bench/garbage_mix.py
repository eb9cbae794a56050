"""Good-event throughput of a real worker with and without 10 % garbage mixed into the input.

Usage: .venv/bin/python -m bench.garbage_mix [--events N] [--pairs N] [--cost-pairs N]
(~35 min with the defaults: 283,754 good events a run, ~11 s windows; at half that, ~6 s windows,
run-to-run noise moved the medians by ±4 %)
Writes bench/results/garbage_mix.json. Each run has its own namespace; both runs of a pair feed
the same good events (seeded), the mixed one with one garbage record after every nine good ones.

Two set-ups, each in pairs: the whole worker, and its ingest path alone (detection timers parked).
The clock stops when ingest has applied every event. Detection, meanwhile, catches up on closed
steps as far as it gets: a slower run gives it more time, so the whole worker's window holds more
of its work (cProfile: 48 % more creators judged in a mixed run's window than in a clean one's),
which the garbage does not cause. Detection's work does not depend on garbage at all; the ingest
path is where a bad record costs. Last, pairs of the ingest path on all-good and all-garbage input
(``record_cost``): what a bad record costs against a good one, each measured whole rather than as
a 10 % difference between two noisy runs, and the ratio that implies for the mix.
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
from monitor.kafka.topics import create_topics
from monitor.settings import load_settings
from monitor.sim.traffic import Traffic, generate
from monitor.store.client import make_redis
from monitor.store.keys import Keys

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
# The mix: one garbage record after every GOOD_PER_BAD good ones (10 % of the input).
GOOD_PER_BAD = 9


Record = tuple[str, bytes, bytes]  # topic (without namespace), key, value


def streams(events: list[tuple[str, dict[str, Any]]]) -> dict[str, list[Record]]:
    """The three inputs: the good events alone; the same with one garbage record after every nine
    (10 % of the input); and garbage alone, one record per good event's slot (same keys)."""
    rng = random.Random(1)
    clean: list[Record] = []
    mixed: list[Record] = []
    garbage: list[Record] = []
    for i, (topic, event) in enumerate(events):
        key, value = event["creator_id"].encode(), orjson.dumps(event)
        clean.append((topic, key, value))
        mixed.append((topic, key, value))
        if i % GOOD_PER_BAD == GOOD_PER_BAD - 1:
            mixed.append((topic, key, rng.choice(GARBAGE)))
        garbage.append((topic, key, rng.choice(GARBAGE)))
    return {"clean": clean, "mixed": mixed, "garbage": garbage}


async def run(stream: list[Record], good: int, env: dict[str, str]) -> dict[str, Any]:
    """One worker over ``stream`` (``good`` of its records are good events) in a new namespace."""
    ns = f"bench-gm-{uuid.uuid4().hex[:6]}."
    settings = load_settings(environ={**os.environ, "MONITOR_NAMESPACE": ns})
    await create_topics(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka, acks="all", linger_ms=5, max_request_size=4_000_000
    )
    await producer.start()
    futures = [await producer.send(settings.topic(t), v, key=k) for t, k, v in stream]
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
            # every record ends as applied, a duplicate, late, or a dead letter
            stats = await redis.hgetall(keys.stats)
            dead = sum(int(v) for v in (await redis.hgetall(keys.deadletter_counts)).values())
            done = sum(int(stats.get(k, 0)) for k in ("applied", "duplicates", "late")) + dead
            if first is None and done:
                first = Mark(time.monotonic(), cpu_s(proc), done)
            if done >= len(stream):
                break
            await asyncio.sleep(0.05)
        assert first is not None
        window = measurement_window(start, first, Mark(time.monotonic(), cpu_s(proc), done))
        # garbage is spread evenly, so the window saw the same share of it as of good events
        good_share = good / len(stream)
        return {
            "good_events": good,
            "garbage": len(stream) - good,
            "dead_letters": dead,
            "records_per_s": round(window.per_second, 1),
            "good_events_per_s": round(window.per_second * good_share, 1),
            "worker_cpu_us_per_record": round(window.cpu_s_per_record * 1e6, 1),
            "worker_cpu_us_per_good_event": round(window.cpu_s_per_record / good_share * 1e6, 1)
            if good
            else None,
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


def expected_ratio(bad_per_good: float, cost_ratio: float) -> float:
    """Good events/s with garbage over without, if a bad record costs ``cost_ratio`` of a good
    one's time and ``bad_per_good`` bad records come with each good one: the good events' share
    of the time. A bad record as dear as a good one at 1 in 10 gives exactly 0.9."""
    return 1 / (1 + bad_per_good * cost_ratio)


def record_costs(runs: list[dict[str, Any]], bad_per_good: float) -> dict[str, Any]:
    """What a record costs the ingest path alone, good or bad, from all-good and all-garbage runs.

    Each kind is measured whole, not as a 10 % difference between two noisy runs, so the
    cost ratio is steady where the pairs' ratios are not; the ratio it implies for the mix is
    a check on the pairs' median.
    """
    medians = {
        metric: {
            kind: statistics.median(r[kind][metric] for r in runs) for kind in ("good", "garbage")
        }
        for metric in ("records_per_s", "worker_cpu_us_per_record")
    }
    rate, cpu_us = medians["records_per_s"], medians["worker_cpu_us_per_record"]
    wall = rate["good"] / rate["garbage"]
    cpu = cpu_us["garbage"] / cpu_us["good"]
    return {
        **medians,
        "bad_over_good": {"wall": round(wall, 3), "cpu": round(cpu, 3)},
        "expected_ratio": {
            "wall": round(expected_ratio(bad_per_good, wall), 3),
            "cpu": round(expected_ratio(bad_per_good, cpu), 3),
        },
        "runs": runs,
    }


async def main(n_events: int, pairs: int, cost_pairs: int) -> None:
    events = list(
        generate(Traffic(seed=3, creators=300, hours=48, comments_per_hour=n_events // 96))
    )
    inputs = streams(events)
    good = len(events)
    bad_per_good = (len(inputs["mixed"]) - good) / good
    # Clean and mixed runs alternate, so a busy neighbour on the machine hits both alike, and take
    # turns going first: a run pays for what the one before it left (the broker deletes that
    # run's topics a minute later), and that must not always fall on the same side. The ratio
    # reported is the median of the pairs' ratios.
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in SETUPS}
    for i in range(pairs):
        for name, env in SETUPS.items():
            order = ("clean", "mixed") if i % 2 == 0 else ("mixed", "clean")
            done = {kind: await run(inputs[kind], good, env) for kind in order}
            clean, mixed = done["clean"], done["mixed"]
            ratio = round(mixed["good_events_per_s"] / clean["good_events_per_s"], 3)
            # the worker's CPU per good event: the cost without the batches' wait for Redis
            cpu_ratio = round(
                clean["worker_cpu_us_per_good_event"] / mixed["worker_cpu_us_per_good_event"], 3
            )
            c, m = clean, mixed
            print(
                f"{name:12s} {order[0]} first: "
                f"clean {c['good_events_per_s']:>8,.0f} ev/s "
                f"({c['worker_cpu_us_per_good_event']} µs CPU/event)   with garbage "
                f"{m['good_events_per_s']:>8,.0f} ev/s ({m['worker_cpu_us_per_good_event']} µs, "
                f"{m['worker_cpu_us_per_record']} µs per record)   ratio {ratio}, "
                f"CPU ratio {cpu_ratio}",
                flush=True,
            )
            runs[name].append(
                {
                    "first": order[0],
                    "clean": clean,
                    "with_10pct_garbage": mixed,
                    "ratio": ratio,
                    "cpu_ratio": cpu_ratio,
                }
            )
    costs: list[dict[str, Any]] = []
    for i in range(cost_pairs):
        order = ("clean", "garbage") if i % 2 == 0 else ("garbage", "clean")
        done = {
            kind: await run(inputs[kind], good if kind == "clean" else 0, PARKED) for kind in order
        }
        g, b = done["clean"], done["garbage"]
        print(
            f"record cost  {order[0]} first: good {g['records_per_s']:>8,.0f} rec/s "
            f"({g['worker_cpu_us_per_record']} µs CPU)   garbage {b['records_per_s']:>8,.0f} "
            f"rec/s ({b['worker_cpu_us_per_record']} µs CPU)",
            flush=True,
        )
        costs.append({"first": order[0], "good": g, "garbage": b})
    result: dict[str, Any] = {
        "command": " ".join([".venv/bin/python", "-m", "bench.garbage_mix", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "os_load_avg": os.getloadavg(),
        "bad_per_good": round(bad_per_good, 4),
        **{name: summary(r) for name, r in runs.items()},
        "record_cost": record_costs(costs, bad_per_good),
    }
    # the summary on screen; every run is in the file
    shown = {name: {**result[name], "pairs": "…"} for name in SETUPS}
    print(
        json.dumps(
            {**result, **shown, "record_cost": {**result["record_cost"], "runs": "…"}}, indent=2
        )
    )
    out = Path(__file__).parent / "results" / "garbage_mix.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=600_000)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--cost-pairs", type=int, default=4)
    args = parser.parse_args()
    if args.pairs < 2 or args.pairs % 2:
        parser.error("--pairs: an even number, at least 2 (each order as often; quartiles)")
    if args.cost_pairs < 2 or args.cost_pairs % 2:
        parser.error("--cost-pairs: an even number, at least 2 (each order as often)")
    asyncio.run(main(args.events, args.pairs, args.cost_pairs))
