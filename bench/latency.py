"""Alert latency at a fixed input rate: planted mention spikes in a paced stream.

A worker first replays seven event-time hours of history unpaced (the spike detector needs six
hours of baseline), then the stream continues at ``rate`` events/s with a burst of 40 mentions of
one brand every so often (brands taken in turn). For each alert we take the broker's append time
of the alert record (LogAppendTime) minus the append time of the record that made the alert
possible: a spike minute can only be judged once every input partition has a record past the
minute's end, so the decisive record is the later of the spike's last record and the last
partition's first record past that minute. Both times are broker clocks: no clock skew.
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.measure import Workers, detection_caught_up, reset_state, worker_env
from bench.services import end_offsets, input_partitions, produce
from bench.workload import (
    HOUR_MS,
    MINUTE_MS,
    Event,
    Generator,
    WorkloadSpec,
    make_brands,
    rules_toml,
)
from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.kafka.topics import ALERTS, create_topics, topic_partitions
from monitor.settings import Settings
from monitor.store.keys import Keys
from schemas.codec import loads
from schemas.events import parse_time_ms

HISTORY_HOURS = 7
BURST = 40
BRAND_GAP_MS = 40 * MINUTE_MS  # a brand's spike must have resolved before its next one


@dataclass(slots=True)
class Spike:
    brand: str
    index_last: int  # position of the burst's last record in the paced stream
    minute: int


def _paced(
    gen: Generator, n: int, t0: int, density_ms: float, every: int
) -> tuple[list[Event], list[Spike]]:
    brands = [b.brand_id for b in gen.brands]
    out: list[Event] = []
    spikes: list[Spike] = []
    k = 0
    for i, e in enumerate(gen.take(n, t0, t0 + int(n * density_ms))):
        out.append(e)
        if i and i % every == 0:
            brand = brands[k % len(brands)]
            k += 1
            base = e.t_ms
            for j in range(BURST):
                t = min(base + j * 50, (base // MINUTE_MS + 1) * MINUTE_MS - 1)
                c = gen.pick()
                text = gen.text.text(gen.mention_term(brand))
                out.append(gen.comment(c, t, text))
            spikes.append(Spike(brand, len(out) - 1, base // MINUTE_MS))
    return out, spikes


async def _collect_alerts(
    settings: Settings, stop: asyncio.Event, ready: asyncio.Event
) -> list[tuple[int, dict[str, Any]]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    out: list[tuple[int, dict[str, Any]]] = []
    try:
        topic = settings.topic(ALERTS)
        # a group-less consumer does not learn an unsubscribed topic's partitions: ask the admin
        tps = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
        consumer.assign(tps)
        await consumer.seek_to_end(*tps)
        for tp in tps:
            await consumer.position(tp)
        ready.set()
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=200)).values():
                out.extend((r.timestamp, loads(r.value)) for r in records)
    finally:
        await consumer.stop()
    return out


async def _wait(predicate: Any, timeout_s: float, workers: Workers) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        workers.sample()
        if not workers.alive():
            raise RuntimeError("a worker exited early during the latency phase")
        if await predicate():
            return True
        await asyncio.sleep(0.25)
    return False


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[idx]


def _crossings(events: list[Event], meta: list[Any]) -> dict[str, tuple[list[int], list[int]]]:
    """Per partition: running max event time and append time, in offset order."""
    per: dict[str, list[tuple[int, int, int]]] = {}
    for e, m in zip(events, meta, strict=True):
        per.setdefault(f"{m.topic}:{m.partition}", []).append((m.offset, e.t_ms, m.timestamp))
    out = {}
    for tp, rows in per.items():
        rows.sort()
        running, maxima, stamps = -1, [], []
        for _, t, ts in rows:
            running = max(running, t)
            maxima.append(running)
            stamps.append(ts)
        out[tp] = (maxima, stamps)
    return out


def _decisive_ms(cross: dict[str, tuple[list[int], list[int]]], boundary: int) -> int | None:
    latest = 0
    for maxima, stamps in cross.values():
        i = bisect.bisect_left(maxima, boundary)
        if i == len(maxima):
            return None  # this partition never passed the minute within the paced phase
        latest = max(latest, stamps[i])
    return latest


async def measure(
    *,
    settings: Settings,
    redis: aioredis.Redis,
    private: bool,
    spec: WorkloadSpec,
    rate: int,
    seconds: float,
    log_dir: Path,
    history_min: int = 5_000,
    settle_s: float = 5.0,
    extra_env: dict[str, str] | None = None,
) -> dict[str, Any]:
    await create_topics(settings, log_append_time=True)
    gen = Generator(WorkloadSpec(events=spec.events, seed=spec.seed + 1))
    await apply_rules(settings, parse_rules_toml(rules_toml(make_brands(gen.spec.seed))))
    density = spec.hours * HOUR_MS / spec.events  # event-time ms per event
    t0 = spec.start_ms
    hist_end = t0 + HISTORY_HOURS * HOUR_MS
    # full density for big runs; small runs spread fewer events over the same hours
    n_history = min(int(HISTORY_HOURS * HOUR_MS / density), max(history_min, spec.events // 4))
    history = [
        (e.topic, e.creator_id.encode(), e.value()) for e in gen.take(n_history, t0, hist_end)
    ]
    n = int(rate * seconds)
    every = max(rate // 2, int(BRAND_GAP_MS / len(gen.brands) / density) + 1)
    paced, spikes = _paced(gen, n, hist_end, density, every)
    tps = await input_partitions(settings)
    await reset_state(settings, redis, tps, private)
    keys = Keys(settings.redis_prefix)
    workers = Workers()
    workers.start(1, worker_env(settings, log_dir, extra_env), log_dir, "latency")
    try:
        await produce(settings, history)
        ends = await end_offsets(settings, tps)
        want = {tp: off - 1 for tp, off in ends.items() if off > 0}

        async def applied() -> bool:
            offs = await redis.hgetall(keys.offsets)
            return all(int(offs.get(tp, -1)) >= off for tp, off in want.items())

        if not await _wait(applied, 900, workers):
            raise RuntimeError("the worker did not finish the latency history in 900 s")
        await _wait(lambda: detection_caught_up(redis, keys), 300, workers)
        stop, ready = asyncio.Event(), asyncio.Event()
        collector = asyncio.create_task(_collect_alerts(settings, stop, ready))
        await ready.wait()
        records: Iterator[tuple[str, bytes, bytes]] = (
            (e.topic, e.creator_id.encode(), e.value()) for e in paced
        )
        sent, took, meta = await produce(settings, records, rate=rate, want_metadata=True)
        ends = await end_offsets(settings, tps)
        offs = await redis.hgetall(keys.offsets)
        lag = sum(max(0, off - 1 - int(offs.get(tp, -1))) for tp, off in ends.items())
        await asyncio.sleep(settle_s)  # alerts of the last spikes
        stop.set()
        alerts = await collector
    finally:
        workers.stop()
    cross = _crossings(paced, meta)
    spike_alerts: dict[tuple[str, int], tuple[int, int]] = {}
    for ts, a in alerts:
        if a["type"] == "mention_spike" and a["status"] == "firing":
            minute = (parse_time_ms(a["event_time"]) or 0) // MINUTE_MS - 1
            detected = parse_time_ms(a["detected_at"]) or ts
            spike_alerts.setdefault((a["brand"], minute), (ts, detected))
    from_decisive: list[float] = []
    from_spike: list[float] = []
    to_detected: list[float] = []  # decisive record → the detection pass that judged the minute
    detected_to_append: list[float] = []  # that pass's start → the alert on the topic
    for s in spikes:
        for minute in (s.minute, s.minute + 1):
            found = spike_alerts.get((s.brand, minute))
            if found is None:
                continue
            alert_ms, detected_ms = found
            last = meta[s.index_last].timestamp
            decisive = _decisive_ms(cross, (minute + 1) * MINUTE_MS)
            if decisive is not None:
                cause = max(last, decisive)
                from_decisive.append(alert_ms - cause)
                from_spike.append(alert_ms - last)
                to_detected.append(detected_ms - cause)
                detected_to_append.append(alert_ms - detected_ms)
            break

    def stats(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"p50_ms": None, "p99_ms": None, "max_ms": None}
        return {
            "p50_ms": round(statistics.median(values), 1),
            "p99_ms": round(_percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1),
        }

    return {
        "rate_events_per_s": rate,
        "achieved_events_per_s": round(sent / took),
        "paced_seconds": round(took, 1),
        "history_events": len(history),
        "paced_events": sent,
        "spikes": len(spikes),
        "alerts": len(from_decisive),
        "lag_records_at_end": lag,
        **stats(from_decisive),
        "from_last_spike_record": stats(from_spike),
        # where the time goes (the worker's wall clock for detected_at: same machine)
        "decisive_record_to_detection_pass": stats(to_detected),
        "detection_pass_to_alert_on_topic": stats(detected_to_append),
        "peak_rss_mb": round(workers.peak_rss / 2**20, 1),
        "definition": "alert append time - append time of the record that made the spike "
        "minute decidable (broker LogAppendTime on both sides)",
    }
