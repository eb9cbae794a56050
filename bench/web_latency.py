"""Leaderboard latency of `monitor web` with 100,000 creators in Redis.

Loads creator metric documents and leaderboard entries under a namespace of its own, written by
``Leaderboard.write_states`` (the worker's own writer and metrics) from synthetic creator states,
starts ``monitor web`` as a subprocess, measures ``GET /api/creators?sort=<metric>&limit=50``
over HTTP, prints p50/p99 and writes ``bench/results/web_latency.json``. Every key it wrote is
deleted at the end.

    .venv/bin/python bench/web_latency.py [--creators 100000] [--requests 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.services import free_port  # noqa: E402  # after the repo is on sys.path
from monitor.core.metrics import (  # noqa: E402
    SORTABLE_METRICS,
    CreatorState,
    PostState,
)
from monitor.core.units import DAY_MS, HOUR_MS  # noqa: E402
from monitor.settings import load_settings  # noqa: E402
from monitor.store.client import make_redis  # noqa: E402  # after the repo is on sys.path
from monitor.store.creators import Tables  # noqa: E402
from monitor.store.keys import Keys  # noqa: E402
from monitor.store.leaderboard import Leaderboard  # noqa: E402

RESULTS = REPO / "bench" / "results" / "web_latency.json"
NOW_MS = 1_795_000_000_000
COMMUNITIES = [f"community-{i:02d}" for i in range(50)]
PLATFORMS = ("instagram", "tiktok", "youtube")
QUERY_SORTS = (
    "growth_24h_pct",
    "engagement_rate_24h",
    "interactions_24h",
    "sentiment_24h",
    "followers",
)
LOAD_CHUNK = 1_000


def synthetic_state(rng: random.Random, i: int) -> CreatorState:
    """One creator's bucket state, shaped like the worker's: snapshots, posts, hour buckets."""
    platform_name = PLATFORMS[i % len(PLATFORMS)]
    followers = int(10 ** rng.uniform(2, 6.7))
    old24 = max(1, int(followers / (1 + rng.gauss(0.01, 0.03))))
    old7 = max(1, int(followers / (1 + rng.gauss(0.05, 0.08))))
    hours: dict[str, int] = {}
    first_hour = NOW_MS // HOUR_MS - 23
    for h in rng.sample(range(first_hour, first_hour + 24), k=rng.randint(0, 6)):
        comments = rng.randint(1, 30)
        hours[f"int:{h}"] = rng.randint(0, 5_000)
        hours[f"cm:{h}"] = comments
        hours[f"ss:{h}"] = int(rng.uniform(-0.6, 0.9) * 10_000) * comments
        hours[f"pos:{h}"] = comments // 2
        hours[f"neu:{h}"] = comments - comments // 2
    posts = {
        f"p{j}": PostState(
            created_ms=NOW_MS - rng.randint(0, 6 * DAY_MS),
            observed_ms=NOW_MS,
            interactions=rng.randint(0, followers // 5 + 10),
        )
        for j in range(rng.randint(0, 4))
    }
    return CreatorState(
        creator_id=f"{platform_name}:bench-{i:06d}",
        meta={
            "platform": platform_name,
            "community": rng.choice(COMMUNITIES),
            "followers": str(followers),
        },
        newest=(NOW_MS - 60_000, followers),
        at_24h=(NOW_MS - DAY_MS - 60_000, old24),
        at_7d=(NOW_MS - 7 * DAY_MS - 60_000, old7) if rng.random() < 0.8 else None,
        posts=posts,
        hours=hours,
    )


async def load(board: Leaderboard, n: int, seed: int) -> float:
    rng = random.Random(seed)
    started = time.perf_counter()
    for lo in range(0, n, LOAD_CHUNK):
        states = [synthetic_state(rng, i) for i in range(lo, min(n, lo + LOAD_CHUNK))]
        await board.write_states(states, NOW_MS, version=0)
    return time.perf_counter() - started


@dataclass
class Run:
    concurrency: int
    latencies_ms: list[float]
    wall_s: float

    def summary(self) -> dict[str, Any]:
        xs = sorted(self.latencies_ms)
        q = statistics.quantiles(xs, n=100, method="inclusive")
        return {
            "concurrency": self.concurrency,
            "requests": len(xs),
            "p50_ms": round(q[49], 2),
            "p90_ms": round(q[89], 2),
            "p99_ms": round(q[98], 2),
            "max_ms": round(xs[-1], 2),
            "mean_ms": round(statistics.fmean(xs), 2),
            "requests_per_s": round(len(xs) / self.wall_s, 1),
        }


async def measure(base: str, requests: int, concurrency: int) -> Run:
    urls = [
        f"{base}/api/creators?sort={QUERY_SORTS[i % len(QUERY_SORTS)]}&limit=50"
        for i in range(requests)
    ]
    latencies: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for url in urls:
        queue.put_nowait(url)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            while not queue.empty():
                url = queue.get_nowait()
                t0 = time.perf_counter()
                async with session.get(url) as r:
                    body = await r.read()
                latencies.append((time.perf_counter() - t0) * 1000)
                if r.status != 200 or len(orjson.loads(body)) != 50:
                    raise RuntimeError(f"unexpected answer {r.status} for {url}")

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return Run(concurrency, latencies, time.perf_counter() - started)


async def wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"monitor web exited; see {log}")
            try:
                async with session.get(f"{url}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("monitor web did not start")


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "web", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


async def cleanup(redis: Any, prefix: str) -> int:
    deleted = 0
    batch: list[str] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=2_000):
        batch.append(key)
        if len(batch) >= 2_000:
            deleted += await redis.unlink(*batch)
            batch.clear()
    if batch:
        deleted += await redis.unlink(*batch)
    return deleted


async def main(args: argparse.Namespace) -> int:
    namespace = f"bench-web-{uuid.uuid4().hex[:8]}."
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        {"MONITOR_NAMESPACE": namespace, "MONITOR_REDIS": args.redis, "MONITOR_LOG_FORMAT": "json"}
    )
    settings = load_settings(environ=env)
    redis = make_redis(settings)
    keys = Keys(settings.redis_prefix)
    leaderboard = Leaderboard(redis, keys, settings, Tables(redis, keys, settings))
    proc: subprocess.Popen[bytes] | None = None
    log = Path(tempfile.mkstemp(prefix="bench-web-", suffix=".log")[1])
    try:
        print(f"loading {args.creators:,} creators into namespace {namespace} ...", flush=True)
        load_s = await load(leaderboard, args.creators, args.seed)
        await redis.set(Keys(settings.redis_prefix).watermark, NOW_MS)
        board = await redis.zcard(Keys(settings.redis_prefix).leaderboard("followers"))
        print(f"loaded in {load_s:.1f} s ({board:,} creators on the followers board)")
        port = free_port()
        proc = start_server(env, port, log)
        base = f"http://127.0.0.1:{port}"
        await wait_healthy(base, proc, log)
        await measure(base, 200, 4)  # warm-up: connections, Redis, the interpreter
        runs = [await measure(base, args.requests, c) for c in (1, args.concurrency)]
        summaries = [r.summary() for r in runs]
        for s in summaries:
            print(
                f"concurrency {s['concurrency']:>2}: p50 {s['p50_ms']:.2f} ms  "
                f"p90 {s['p90_ms']:.2f} ms  p99 {s['p99_ms']:.2f} ms  max {s['max_ms']:.2f} ms  "
                f"({s['requests_per_s']:.0f} req/s)"
            )
        worst_p99 = max(s["p99_ms"] for s in summaries)
        verdict = "meets" if worst_p99 < 50 else "MISSES"
        print(f"p99 {worst_p99:.2f} ms: {verdict} the 50 ms target")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_bytes(
            orjson.dumps(
                {
                    "benchmark": "GET /api/creators?sort=<metric>&limit=50",
                    "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "creators": args.creators,
                    "sorts": list(QUERY_SORTS),
                    "leaderboards_per_creator": len(SORTABLE_METRICS),
                    "load_s": round(load_s, 1),
                    "machine": {
                        "python": platform.python_version(),
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                    },
                    "runs": summaries,
                    "p99_ms": worst_p99,
                    "target_p99_ms": 50,
                },
                option=orjson.OPT_INDENT_2,
            )
            + b"\n"
        )
        print(f"wrote {RESULTS.relative_to(REPO)}")
        return 0 if worst_p99 < 50 else 1
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(30)
        deleted = await cleanup(redis, settings.redis_prefix)
        print(f"cleaned up {deleted:,} keys")
        await redis.aclose()
        if proc is None or proc.returncode in (0, -15):
            os.unlink(log)  # keep the server's log only when something went wrong


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--creators", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--redis", default=os.environ.get("MONITOR_REDIS", "redis://127.0.0.1:6379/0")
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
