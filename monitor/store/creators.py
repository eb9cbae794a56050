"""Read API of the live creator and community tables (the write side is apply.py).

The web view, the CLI and the tests go through here rather than raw keys. Single-creator reads
compute fresh from bucket state (exact at the current watermark); listings read leaderboard sorted
sets and the metric documents monitor/store/leaderboard.py writes alongside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis

from monitor.core.metrics import (
    SORTABLE_METRICS,
    CreatorState,
    TierBands,
    activity_metrics,
    creator_metrics,
    hourly_series,
    last_mentions,
)
from monitor.core.posts import MAX_AGE_MS, PostHistory
from monitor.core.units import DAY_MS, HOUR_MS
from monitor.core.windows import days_for_hours, hour_window, hours_for_minutes, minute_window
from monitor.settings import Settings
from monitor.store.keys import (
    Keys,
    followers_zset,
    hour_hash,
    members_set,
    minute_hash,
    post_snapshots,
    posts_by_created,
)
from monitor.store.scripts import ScriptRunner, lua_source
from monitor.store.states import parse_state, snapshot_member, state_calls
from schemas.codec import loads


def refreshed_watermark(progress: str | None) -> int:
    """The watermark the refresher's progress mark (``wm:applied:late``) says documents hold at."""
    return int(str(progress or "0").partition(":")[0])


def _merge(parts: Iterable[dict[str, str]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for part in parts:
        merged.update({k: int(v) for k, v in part.items()})
    return merged


def _snapshots(members: Sequence[Any]) -> tuple[tuple[int, int], ...]:
    return tuple(snapshot_member(str(m)) for m in members)


class Tables:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._retention_ms = settings.retention_s * 1000
        self.bands = TierBands.from_settings(settings)
        self._scripts = ScriptRunner(redis)
        self._states_lua = lua_source("creator_states.lua")

    async def watermark(self) -> int:
        return int(await self._redis.get(self._keys.watermark) or 0)

    async def last_mentions(self, creator_id: str, now_ms: int) -> dict[str, int]:
        """Brand -> latest time at or before now the creator mentioned it, within retention."""
        base = self._keys.creator(creator_id)
        first_day = max(0, now_ms - self._retention_ms) // DAY_MS
        pipe = self._redis.pipeline(transaction=False)
        for day in range(first_day, now_ms // DAY_MS + 1):
            pipe.hgetall(hour_hash(base, day))
        pipe.hgetall(minute_hash(base, now_ms // HOUR_MS))
        *days, minutes = await pipe.execute()
        return last_mentions(_merge(days), _merge([minutes]), now_ms)

    async def post_histories(
        self, creator_ids: Sequence[str], now_ms: int, *, limit: int
    ) -> dict[str, list[PostHistory]]:
        """Each creator's ``limit`` newest posts created at or before now, oldest first, with
        their snapshots up to now: what a post looked like then, however far ingest has run on.

        Creators without a post created in the last day get none (nothing of theirs is judged).
        """
        pipe = self._redis.pipeline(transaction=False)
        for c in creator_ids:
            pipe.zrevrangebyscore(
                posts_by_created(self._keys.creator(c)), now_ms, "-inf", 0, limit, withscores=True
            )
        newest: dict[str, list[tuple[str, int]]] = {}
        for c, rows in zip(creator_ids, await pipe.execute(), strict=True):
            posts = [(str(p), int(t)) for p, t in reversed(rows)]
            if posts and posts[-1][1] > now_ms - MAX_AGE_MS:
                newest[c] = posts
        pipe = self._redis.pipeline(transaction=False)
        for c, posts in newest.items():
            for p, _ in posts:
                pipe.zrangebyscore(post_snapshots(self._keys.creator(c), p), "-inf", now_ms)
        replies = iter(await pipe.execute())
        return {
            c: [
                PostHistory(post_id=p, created_ms=t, snapshots=_snapshots(next(replies)))
                for p, t in posts
            ]
            for c, posts in newest.items()
        }

    async def creator_states(
        self,
        creator_ids: Sequence[str],
        now_ms: int,
        *,
        hours: int = 7 * 24,
        history: bool = False,
        summed: bool = False,
    ) -> list[CreatorState]:
        """Fetch what the metrics need for many creators in one round trip.

        ``hours`` of hour buckets (ending at now) are read: the metrics need 24, the detail view
        168. ``history``: also the detectors' week of hour sums, added up by Redis (``History``).
        ``summed``: Redis sums the 24 h and 1 h windows' buckets and the posts (see
        creator_states.lua); the state then gives the same metrics and ``next_change_ms`` at
        ``now_ms``, and nothing else.
        """
        if not creator_ids:
            return []
        calls = state_calls(
            self._keys,
            creator_ids,
            now_ms,
            retention_ms=self._retention_ms,
            hours=hours,
            history=history,
            summed=summed,
        )
        replies = [r for chunk in await self._scripts.run(self._states_lua, calls) for r in chunk]
        return [
            parse_state(cid, raw, summed=summed)
            for cid, raw in zip(creator_ids, replies, strict=True)
        ]

    # --- creators ----------------------------------------------------------------------------
    async def creator(self, creator_id: str, *, now_ms: int | None = None) -> dict[str, Any] | None:
        """One creator's metrics, computed fresh; None if the creator is unknown."""
        now = await self.watermark() if now_ms is None else now_ms
        (state,) = await self.creator_states([creator_id], now)
        if not state.known:
            return None
        return creator_metrics(state, now, self.bands)

    async def creator_detail(self, creator_id: str) -> dict[str, Any] | None:
        """One creator's metrics with its follower and hourly series; None if unknown."""
        now = await self.watermark()
        (state,) = await self.creator_states([creator_id], now)
        if not state.known:
            return None
        doc = creator_metrics(state, now, self.bands)
        base = self._keys.creator(creator_id)
        snaps = await self._redis.zrangebyscore(
            followers_zset(base), now - self._retention_ms, now, withscores=False
        )
        doc["series"] = {
            "followers": [
                {"t_ms": t, "followers": f} for t, f in (snapshot_member(str(m)) for m in snaps)
            ],
            "hourly": hourly_series(state.hours, now, 7 * 24),
        }
        return doc

    async def top_creators(
        self,
        *,
        sort: str = "growth_24h_pct",
        tier: str | None = None,
        community: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Top creators by a metric from the leaderboards (no scan); highest first."""
        if sort not in SORTABLE_METRICS:
            raise ValueError(f"unknown sort metric {sort!r}")
        board = self._keys.leaderboard(sort, tier=tier, community=community)
        ids: list[str] = await self._redis.zrevrange(board, 0, limit - 1)  # type: ignore[assignment]  # decode_responses=True
        if not ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        pipe.mget([self._keys.creator_doc(i) for i in ids])
        pipe.hget(self._keys.refreshed, "progress")
        docs, progress = await pipe.execute()
        # A document is recomputed only when it can change (its creator's data, or a window edge
        # passing it), so each one holds at least up to the last complete refresh.
        valid = refreshed_watermark(progress)
        out = []
        for raw in docs:
            if raw is not None:
                doc = loads(raw)
                doc["as_of_ms"] = max(doc["as_of_ms"], valid)
                out.append(doc)
        return out

    async def all_creator_ids(self) -> list[str]:
        ids: list[str] = await self._redis.zrange(self._keys.creators, 0, -1)  # type: ignore[assignment]  # decode_responses=True
        return ids

    # --- communities -------------------------------------------------------------------------
    async def communities(self) -> list[str]:
        names: list[str] = await self._redis.zrange(self._keys.communities, 0, -1)  # type: ignore[assignment]  # decode_responses=True
        return names

    async def community(self, name: str, *, now_ms: int | None = None) -> dict[str, Any] | None:
        """A community's roll-up: its own bucketed activity plus sums over member creators."""
        now = await self.watermark() if now_ms is None else now_ms
        base = self._keys.community(name)
        members: list[str] = sorted(map(str, await self._redis.smembers(members_set(base))))
        if not members:
            return None
        hours, minutes = await self._community_buckets(base, now)
        docs = [
            creator_metrics(s, now, self.bands)
            for s in await self.creator_states(members, now, summed=True)
        ]
        doc: dict[str, Any] = {"community": name, "creators": len(members), **_member_sums(docs)}
        doc["posts_24h"] = sum(hours.get(f"po:{h}", 0) for h in hour_window(now, 24))
        doc.update(activity_metrics(hours, minutes, now))
        doc["as_of_ms"] = now
        return doc

    async def _community_buckets(
        self, base: str, now_ms: int
    ) -> tuple[dict[str, int], dict[str, int]]:
        """A community's own hour buckets (24 h) and minute buckets (1 h), merged."""
        days = days_for_hours(hour_window(now_ms, 24))
        minute_hours = hours_for_minutes(minute_window(now_ms, 60))
        pipe = self._redis.pipeline(transaction=False)
        for d in days:
            pipe.hgetall(hour_hash(base, d))
        for h in minute_hours:
            pipe.hgetall(minute_hash(base, h))
        replies = await pipe.execute()
        return _merge(replies[: len(days)]), _merge(replies[len(days) :])


def _member_sums(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A community's audience figures from its members' documents (pure)."""
    out: dict[str, Any] = {}
    for metric in ("followers", "growth_24h", "growth_7d"):
        values = [d[metric] for d in docs if d[metric] is not None]
        out[metric] = sum(values) if values else None
    for metric in ("growth_24h", "growth_7d"):
        old = sum(
            d["followers"] - d[metric]
            for d in docs
            if d[metric] is not None and d["followers"] is not None
        )
        out[f"{metric}_pct"] = (
            None if out[metric] is None or old == 0 else round(out[metric] * 100.0 / old, 4)
        )
    for metric in ("engagement_rate_24h", "engagement_rate_7d"):
        values = [d[metric] for d in docs if d[metric] is not None]
        out[metric] = round(sum(values) / len(values), 6) if values else None
    return out


__all__ = ["Tables", "refreshed_watermark"]
