"""The two throughput measurements: the bare-consumer ceiling and real worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.services import reset_group, wipe_redis
from bench.window import Mark, measurement_window
from monitor.core.units import MINUTE_MS
from monitor.settings import Settings
from monitor.store.keys import DETECT_STEP_MS, Keys

REPO = Path(__file__).resolve().parent.parent


def cpu_s(proc: psutil.Process) -> float:
    """CPU seconds (user + system) the process has used so far."""
    t = proc.cpu_times()
    return float(t.user + t.system)


async def ceiling(settings: Settings, tps: Sequence[TopicPartition], total: int) -> dict[str, Any]:
    """A bare aiokafka consumer (no group) that only orjson-decodes every record."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    me = psutil.Process()
    try:
        consumer.assign(list(tps))
        await consumer.seek_to_beginning(*tps)
        cpu0 = cpu_s(me)
        t0 = time.perf_counter()
        n = 0
        loads = orjson.loads
        while n < total:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batches.values():
                for rec in records:
                    loads(rec.value)
                n += len(records)
        elapsed = time.perf_counter() - t0
        cpu1 = cpu_s(me)
    finally:
        await consumer.stop()
    cpu = cpu1 - cpu0
    return {
        "events": n,
        "seconds": round(elapsed, 3),
        "events_per_s": round(n / elapsed),
        "cpu_s_per_million": round(cpu / n * 1e6, 2),
    }


def _info_numbers(info: dict[str, Any], *names: str) -> dict[str, float]:
    return {n: float(info.get(n, 0)) for n in names}


async def redis_counters(redis: aioredis.Redis) -> dict[str, Any]:
    stats = await redis.info("stats")
    cpu = await redis.info("cpu")
    cmd = await redis.info("commandstats")
    calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in cmd.items()}
    return {
        "commands": int(stats["total_commands_processed"]),
        "reads": int(stats["total_reads_processed"]),
        "cpu_s": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
        "calls": calls,
    }


def _delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    calls = {
        k: v - before["calls"].get(k, 0)
        for k, v in after["calls"].items()
        if v - before["calls"].get(k, 0) > 0
    }
    return {
        "commands": after["commands"] - before["commands"],
        "reads": after["reads"] - before["reads"],
        "cpu_s": after["cpu_s"] - before["cpu_s"],
        "calls": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
    }


@dataclass(slots=True)
class Workers:
    """Worker subprocesses and their resource readings."""

    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ps: list[psutil.Process] = field(default_factory=list)
    profilers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    peak_rss: int = 0

    def start(
        self, n: int, env: dict[str, str], log_dir: Path, tag: str, profile: Path | None = None
    ) -> None:
        for i in range(n):
            log = (log_dir / f"worker-{tag}-{i}.log").open("ab")
            proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "worker"],
                env=env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            self.procs.append(proc)
            self.ps.append(psutil.Process(proc.pid))
            if profile is not None:
                # py-spy samples from outside (ptrace); collapsed stacks, one file per process
                out = profile / f"pyspy-{tag}-{i}.txt"
                self.profilers.append(
                    subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                         str(proc.pid), "--rate", "200", "--nonblocking", "--format", "raw",
                         "--output", str(out)],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )  # fmt: skip

    def sample(self) -> None:
        for p in self.ps:
            with contextlib.suppress(psutil.NoSuchProcess):
                self.peak_rss = max(self.peak_rss, p.memory_info().rss)

    def cpu(self) -> float:
        total = 0.0
        for p in self.ps:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += cpu_s(p)
        return total

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        for p in self.profilers:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def worker_env(
    settings: Settings, log_dir: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        {
            # faust keeps a data folder per app; not in the repository
            "F_DATADIR": str(log_dir / "{conf.name}-data"),
            "MONITOR_NAMESPACE": settings.namespace,
            "MONITOR_KAFKA": settings.kafka,
            "MONITOR_REDIS": settings.redis.reveal(),
            "MONITOR_TOPIC_PARTITIONS": str(settings.topic_partitions),
            "MONITOR_LOG_FORMAT": "json",
            # The feed stops at the end of the workload: let detection close the last minutes
            # 2 s after it (instead of 10 s) so "detection caught up" is measured, not waited.
            "MONITOR_PARTITION_IDLE_S": "2",
        }
    )
    env.update(extra or {})
    return env


async def detection_caught_up(redis: aioredis.Redis, keys: Keys) -> bool:
    pipe = redis.pipeline(transaction=False)
    pipe.get(keys.watermark)
    pipe.get(f"{keys.prefix}det:minute")
    pipe.get(f"{keys.prefix}det:step")
    pipe.llen(f"{keys.prefix}det:outbox")
    wm, minute, step, outbox = await pipe.execute()
    wm = int(wm or 0)
    return bool(
        wm
        and int(minute or -1) >= wm // MINUTE_MS - 1
        and int(step or -1) >= wm // DETECT_STEP_MS - 1
        and not outbox
    )


async def reset_state(
    settings: Settings, redis: aioredis.Redis, tps: Sequence[TopicPartition], private: bool
) -> None:
    if private:
        await redis.flushall()
        await redis.config_resetstat()
    else:
        await wipe_redis(redis, settings.namespace)
    await reset_group(settings, tps)


async def run_workers(
    *,
    settings: Settings,
    redis: aioredis.Redis,
    tps: Sequence[TopicPartition],
    ends: dict[str, int],
    processes: int,
    private: bool,
    log_dir: Path,
    detect_timeout_s: float,
    profile: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Worker processes from offset 0 to the end of every input partition, then detection."""
    await reset_state(settings, redis, tps, private)
    keys = Keys(settings.redis_prefix)
    total = sum(ends.values())
    want = {tp: end - 1 for tp, end in ends.items() if end > 0}
    workers = Workers()
    polls = 0
    before = await redis_counters(redis)
    workers.start(
        processes, worker_env(settings, log_dir, extra_env), log_dir, f"x{processes}", profile
    )
    start = Mark(time.perf_counter(), workers.cpu(), 0)
    first: Mark | None = None
    try:
        while True:
            await asyncio.sleep(0.2)
            workers.sample()
            if not workers.alive():
                raise RuntimeError(f"a worker exited early; see {log_dir}")
            offsets = await redis.hgetall(keys.offsets)
            polls += 1
            done = sum(int(offsets.get(tp, -1)) + 1 for tp in want)
            if first is None and done:
                first = Mark(time.perf_counter(), workers.cpu(), done)
            if all(int(offsets.get(tp, -1)) >= off for tp, off in want.items()):
                break
        t_done = time.perf_counter()
        cpu_done = workers.cpu()
        at_done = await redis_counters(redis)
        polls += 3
        detected = None
        deadline = time.perf_counter() + detect_timeout_s
        while time.perf_counter() < deadline:
            workers.sample()
            polls += 1
            if await detection_caught_up(redis, keys):
                detected = time.perf_counter()
                break
            await asyncio.sleep(0.25)
        at_detected = await redis_counters(redis)
        cpu_detected = workers.cpu()
        stats = await redis.hgetall(keys.stats)
        dead = await redis.hgetall(keys.deadletter_counts)
        polls += 5
    finally:
        workers.stop()
    assert first is not None
    window = measurement_window(start, first, Mark(t_done, cpu_done, total))
    ingest = _delta(at_done, before)
    # the benchmark's own round trips (polls, INFO) are subtracted; each is one read or more
    own = polls
    result: dict[str, Any] = {
        "processes": processes,
        "events": total,
        "startup_s": round(first.t - start.t, 2),
        "seconds": round(window.seconds, 3),
        "events_per_s": round(window.per_second),
        "cpu_s_per_million": round(window.cpu_s_per_record * 1e6, 2),
        # true when every event was done at the first look (tiny runs): start-up is then included
        "window_from_start": window.from_start,
        "peak_rss_mb": round(workers.peak_rss / 2**20, 1),
        "redis_commands_per_event": round(ingest["commands"] / total, 2),
        "redis_round_trips_per_event": round(max(0, ingest["reads"] - own) / total, 4),
        "redis_cpu_s_per_million": round(ingest["cpu_s"] / total * 1e6, 2),
        "redis_top_commands": dict(list(ingest["calls"].items())[:12]),
        "applied": int(stats.get("applied", 0)),
        "duplicates": int(stats.get("duplicates", 0)),
        "late": int(stats.get("late", 0)),
        "dead_letters": {k: int(v) for k, v in dead.items()},
    }
    if detected is not None:
        whole = _delta(at_detected, before)
        result["detection_caught_up_after_ingest_s"] = round(detected - t_done, 2)
        result["with_detection"] = {
            "cpu_s_per_million": round(
                (window.cpu_s + cpu_detected - cpu_done) / window.records * 1e6, 2
            ),
            "redis_commands_per_event": round(whole["commands"] / total, 2),
            "redis_round_trips_per_event": round(max(0, whole["reads"] - own) / total, 4),
        }
    else:
        result["detection_caught_up_after_ingest_s"] = None
    if not private:
        result["note"] = "shared Redis: command and round-trip counts include other clients"
    return result
