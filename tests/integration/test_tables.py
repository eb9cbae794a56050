"""Tables' reads against Redis: what Redis sums for the detectors equals summing it ourselves."""

from __future__ import annotations

import random

import pytest
import redis.asyncio as aioredis

from monitor.keys import DAY_MS, HOUR_MS, Keys, hour_hash
from monitor.settings import Settings
from monitor.tables import Tables
from monitor.windows import USUAL_HOURS, history_hours, window_sum

pytestmark = pytest.mark.integration


async def test_history_sums_equal_the_hour_buckets_summed_in_python(
    settings: Settings, redis: aioredis.Redis
) -> None:
    keys, tables, rng = Keys(settings), Tables(redis, Keys(settings), settings), random.Random(5)
    now = 20_000 * DAY_MS + 13 * HOUR_MS + 1234
    last_hour = now // HOUR_MS
    creators = [f"instagram:c{i}" for i in range(40)]
    for n, cid in enumerate(creators):
        base = keys.creator(cid)
        fields: dict[str, dict[str, int]] = {}
        # creator 0 has no hours at all; the others a random share of the last 9 days
        for h in range(last_hour - 9 * 24, last_hour + 1) if n else ():
            if rng.random() < 0.3:
                day = fields.setdefault(hour_hash(base, h * HOUR_MS // DAY_MS), {})
                for metric in ("neg", "cm", "int", "pos", "mn:acme"):
                    if rng.random() < 0.7:
                        day[f"{metric}:{h}"] = rng.randint(-3, 50)
        for key, mapping in fields.items():
            await redis.hset(key, mapping=mapping)  # type: ignore[arg-type]
        await redis.hset(f"{base}:meta", mapping={"platform": "instagram"})

    with_history = await tables.creator_states(creators, now, hours=24, history=True)
    full = await tables.creator_states(creators, now, hours=10 * 24)
    before, usual = history_hours(now), history_hours(now, USUAL_HOURS)
    seen_any = 0
    for got, raw in zip(with_history, full, strict=True):
        assert got.history is not None
        assert got.history.negative == window_sum(raw.hours, "neg", before)
        assert got.history.comments == window_sum(raw.hours, "cm", before)
        assert got.history.interactions == window_sum(raw.hours, "int", usual)
        seen = [h for h in usual if f"int:{h}" in raw.hours]
        assert got.history.first_hour == (seen[0] if seen else None)
        seen_any += bool(seen)
    assert seen_any > 30
    assert (await tables.creator_states(creators[:1], now))[0].history is None
