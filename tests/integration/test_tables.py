"""Creator state against Redis: the detectors' sums, and which creators a refresh recomputes."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis

from monitor.core.metrics import creator_metrics, next_change_ms, post_windows
from monitor.core.units import DAY_MS, HOUR_MS
from monitor.core.windows import history_hours, window_sum
from monitor.settings import Settings
from monitor.store.apply import TableStore
from monitor.store.creators import Tables
from monitor.store.keys import Keys, hour_hash
from monitor.store.leaderboard import Leaderboard
from tests.integration.batches import T0, Batches

pytestmark = pytest.mark.integration

RETENTION_MS = 8 * DAY_MS


async def test_history_sums_equal_the_hour_buckets_summed_in_python(
    settings: Settings, redis: aioredis.Redis
) -> None:
    keys, tables, rng = (
        Keys(settings.redis_prefix),
        Tables(redis, Keys(settings.redis_prefix), settings),
        random.Random(5),
    )
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
    before = history_hours(now)
    seen_any = 0
    for got, raw in zip(with_history, full, strict=True):
        assert got.history is not None
        assert got.history.negative == window_sum(raw.hours, "neg", before)
        assert got.history.comments == window_sum(raw.hours, "cm", before)
        seen_any += got.history.comments != 0
    assert seen_any > 30
    assert (await tables.creator_states(creators[:1], now))[0].history is None


async def test_only_creators_with_changes_or_passing_window_edges_are_recomputed(
    settings: Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(settings.redis_prefix)
    tables, batches = Tables(redis, keys, settings), Batches(TableStore(redis, keys, settings))
    board = Leaderboard(redis, keys, settings, tables)
    # c0 commented at T0, the others 20 minutes later
    await batches.apply(
        batches.comment(f"instagram:c{i}", T0 + (i > 0) * 20 * 60_000) for i in range(30)
    )
    first = await board.refresh_due()
    assert (first.creators, first.complete) == (30, True)
    assert (await board.refresh_due()).creators == 0  # nothing changed, the watermark stayed

    # c1 comments again 50 minutes later: c1 changed, but no window edge passed anyone's data
    await batches.apply([batches.comment("instagram:c1", T0 + 50 * 60_000)])
    assert (await board.refresh_due()).creators == 1
    # 61 minutes after T0, c0's minute leaves the 1 h window: c0 alone is due, and its
    # comments_1h drops to zero; c1 (changed: its third comment this hour) is recomputed with it
    await batches.apply([batches.comment("instagram:c1", T0 + 61 * 60_000)])
    again = await board.refresh_due()
    assert again.creators == 2
    doc = await redis.get(keys.creator_doc("instagram:c0"))
    assert doc is not None
    assert orjson.loads(doc)["comments_1h"] == 0
    assert (
        orjson.loads(await redis.get(keys.creator_doc("instagram:c1")) or b"{}")["comments_1h"] == 3
    )
    # the documents equal a fresh computation at the watermark (c2's was computed earlier: as_of)
    for cid in ("instagram:c0", "instagram:c1", "instagram:c2"):
        stored = orjson.loads(await redis.get(keys.creator_doc(cid)) or b"{}")
        fresh = await tables.creator(cid)
        assert fresh is not None
        assert stored == {**fresh, "as_of_ms": stored["as_of_ms"]}
    assert stored["as_of_ms"] == T0 + 20 * 60_000


async def test_a_batch_applied_during_a_refresh_round_leaves_its_creator_due(
    settings: Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(settings.redis_prefix)
    batches = Batches(TableStore(redis, keys, settings))
    first = [batches.comment("instagram:c0", T0), batches.comment("instagram:c1", T0)]
    # c0 comments again 10 minutes later, in a batch that lands just after the round read the
    # watermark and the due set: its document, computed at T0, cannot show that comment
    racing = [[batches.comment("instagram:c0", T0 + 10 * 60_000)]]

    class RacedLeaderboard(Leaderboard):
        async def _version(self, *args: Any, **kwargs: Any) -> Any:
            read = await super()._version(*args, **kwargs)
            if racing:
                await batches.apply(racing.pop())
            return read

    tables = Tables(redis, keys, settings)
    board = RacedLeaderboard(redis, keys, settings, tables)
    await batches.apply(first)
    assert (await board.refresh_due()).creators == 2
    assert not racing
    # c0 is still due (at the newer watermark); c1 is not (no window edge passed in 10 minutes)
    again = await board.refresh_due()
    assert again.creators == 1
    assert (await board.refresh_due()).creators == 0
    stored = orjson.loads(await redis.get(keys.creator_doc("instagram:c0")) or b"{}")
    fresh = await tables.creator("instagram:c0")
    assert fresh is not None
    assert fresh["comments_1h"] == 2
    assert stored == fresh


async def test_windows_summed_by_redis_give_the_same_metrics_and_next_change(
    settings: Settings, redis: aioredis.Redis
) -> None:
    keys = Keys(settings.redis_prefix)
    tables, batches = Tables(redis, keys, settings), Batches(TableStore(redis, keys, settings))
    rng = random.Random(9)
    creators = [f"instagram:c{i}" for i in range(12)]
    records = [
        batches.comment(rng.choice(creators), T0 - rng.randint(0, 30 * HOUR_MS)) for _ in range(600)
    ]
    edges = []  # watermarks where a post leaves a window, and the millisecond before
    for n in range(200):  # posts created over 9 days, observed up to a day later
        created = T0 - rng.randint(0, 9 * DAY_MS)
        if n < 4:
            edges += [created + length - d for length in (DAY_MS, 7 * DAY_MS) for d in (0, 1)]
        observed = min(T0, created + rng.randint(0, DAY_MS))
        cid, likes = rng.choice(creators), rng.randint(0, 900)
        post = batches.post(cid, f"p{n}", created, observed, likes=likes, followers=5000 + n)
        records.append(post)
    await batches.apply(records)
    now = await tables.watermark()
    fields_raw = fields_summed = 0
    for at in (now, now - 90 * 60_000, now - 20 * HOUR_MS, now - 3 * DAY_MS, *edges):
        raw = await tables.creator_states(creators, at, hours=24)
        summed = await tables.creator_states(creators, at, summed=True)
        for a, b in zip(raw, summed, strict=True):
            fields_raw, fields_summed = fields_raw + len(a.hours), fields_summed + len(b.hours)
            assert b.post_sums is not None
            assert b.post_sums == post_windows(a.posts.values(), at)
            assert creator_metrics(b, at, tables.bands) == creator_metrics(a, at, tables.bands)
            assert next_change_ms(b, at, RETENTION_MS) == next_change_ms(a, at, RETENTION_MS)
    assert fields_summed * 3 < fields_raw  # what crosses the wire shrank
