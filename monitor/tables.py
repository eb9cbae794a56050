"""Read API of the live tables, plus the leaderboard writer that keeps top-N queries scan-free.

The web view, the CLI and the tests go through here rather than raw keys. Single-creator reads
compute fresh from bucket state (exact at the current watermark); listings read leaderboard sorted
sets and the metric documents written alongside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from monitor.keys import (
    DAY_MS,
    HOUR_MS,
    Keys,
    followers_zset,
    hour_hash,
    members_set,
    minute_hash,
    posts_hash,
)
from monitor.metrics import (
    SORTABLE_METRICS,
    CreatorState,
    History,
    PostState,
    TierBands,
    activity_metrics,
    creator_metrics,
    hourly_series,
)
from monitor.settings import Settings
from monitor.windows import (
    USUAL_HOURS,
    days_for_hours,
    history_hours,
    hour_window,
    hours_for_minutes,
    minute_window,
)
from schemas.codec import dumps, loads

# Creators per script call: one call holds Redis for a few milliseconds, not more.
SCRIPT_CHUNK: Final = 250
# Separates a creator's leaderboard values in the `lbv` field (never inside a number).
_SEP: Final = "\x1f"
_NO_VALUE: Final = ""


def _lua(name: str) -> str:
    return resources.files("monitor").joinpath(f"lua/{name}").read_text("utf-8")


def _pairs(flat: list[Any]) -> dict[str, str]:
    # a hash as the script returns it: field, value, field, value, ...
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _int_pairs(flat: list[Any], into: dict[str, int]) -> None:
    if flat:
        into.update(zip(flat[::2], map(int, flat[1::2]), strict=True))


def _board_value(value: Any) -> str:
    # what redis-py sends for an int or float score (repr), so ZADD stores the same double
    return _NO_VALUE if value is None else repr(value)


def _snapshot(raw: list[Any]) -> tuple[int, int] | None:
    if not raw:
        return None
    member = raw[0][0] if isinstance(raw[0], (list, tuple)) else raw[0]
    t, _, f = str(member).partition(":")
    return int(t), int(f)


def _ints(raw: dict[str, str]) -> dict[str, int]:
    return {k: int(v) for k, v in raw.items()}


class Tables:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._retention_ms = settings.retention_s * 1000
        self.bands = TierBands(
            micro_min=settings.tier_micro_min,
            macro_min=settings.tier_macro_min,
            mega_min=settings.tier_mega_min,
        )
        self._states_lua = _lua("creator_states.lua")
        self._leaderboard_lua = _lua("leaderboard.lua")
        self._shas: dict[str, str] = {}

    async def watermark(self) -> int:
        return int(await self._redis.get(self._keys.watermark) or 0)

    # --- bucket state ------------------------------------------------------------------------
    def _queue_buckets(self, pipe: Any, base: str, now_ms: int, hours: int) -> tuple[int, int]:
        days = days_for_hours(hour_window(now_ms, hours))
        minute_hours = hours_for_minutes(minute_window(now_ms, 60))
        for d in days:
            pipe.hgetall(hour_hash(base, d))
        for h in minute_hours:
            pipe.hgetall(minute_hash(base, h))
        return len(days), len(minute_hours)

    @staticmethod
    def _merge(parts: Iterable[dict[str, str]]) -> dict[str, int]:
        merged: dict[str, int] = {}
        for part in parts:
            merged.update(_ints(part))
        return merged

    async def _run_script(self, source: str, calls: list[list[Any]]) -> list[Any]:
        """EVALSHA every argument list in one pipeline; loads the script once if Redis lacks it.

        Both scripts are safe to repeat (a read, and writes of the same values).
        """
        sha = self._shas.get(source)
        for attempt in (1, 2):
            if sha is None:
                sha = self._shas[source] = await self._redis.script_load(source)
            pipe = self._redis.pipeline(transaction=False)
            for args in calls:
                pipe.evalsha(sha, 0, *args)
            try:
                replies: list[Any] = await pipe.execute()
                return replies
            except NoScriptError:
                if attempt == 2:
                    raise
                sha = None  # the server lost its scripts (restart, SCRIPT FLUSH)
        raise AssertionError("unreachable")

    async def creator_states(
        self,
        creator_ids: Sequence[str],
        now_ms: int,
        *,
        hours: int = 7 * 24,
        history: bool = False,
    ) -> list[CreatorState]:
        """Fetch what the metrics need for many creators in one round trip.

        ``hours`` of hour buckets (ending at now) are read: the metrics need 24, the detail view
        168. ``history``: also the detectors' week of hour sums, added up by Redis (``History``).
        """
        if not creator_ids:
            return []
        horizon = now_ms - self._retention_ms
        days = days_for_hours(hour_window(now_ms, hours))
        minute_hours = hours_for_minutes(minute_window(now_ms, 60))
        suffixes = [
            posts_hash(""),
            *(hour_hash("", d) for d in days),
            *(minute_hash("", h) for h in minute_hours),
        ]
        head: list[Any] = [now_ms, now_ms - DAY_MS, now_ms - 7 * DAY_MS, horizon]
        spec = ""
        if history:
            before, usual = history_hours(now_ms), history_hours(now_ms, USUAL_HOURS)
            spec = f"{before.start},{before.stop},{usual.start},{usual.stop}"
        head += [",".join(suffixes), followers_zset(""), spec]
        calls = [
            [*head, *(self._keys.creator(c) for c in creator_ids[i : i + SCRIPT_CHUNK])]
            for i in range(0, len(creator_ids), SCRIPT_CHUNK)
        ]
        replies = [r for chunk in await self._run_script(self._states_lua, calls) for r in chunk]
        n_days = len(days)
        states = []
        for cid, reply in zip(creator_ids, replies, strict=True):
            hours_merged: dict[str, int] = {}
            for part in reply[6 : 6 + n_days]:
                _int_pairs(part, hours_merged)
            minutes: dict[str, int] = {}
            for part in reply[6 + n_days :]:
                _int_pairs(part, minutes)
            sums = reply[4]
            states.append(
                CreatorState(
                    creator_id=cid,
                    meta=_pairs(reply[0]),
                    newest=_snapshot(reply[1]),
                    at_24h=_snapshot(reply[2]),
                    at_7d=_snapshot(reply[3]),
                    posts={p: _post(v) for p, v in _pairs(reply[5]).items()},
                    hours=hours_merged,
                    minutes=minutes,
                    history=History(
                        negative=sums[0],
                        comments=sums[1],
                        interactions=sums[2],
                        first_hour=None if sums[3] < 0 else sums[3],
                    )
                    if sums
                    else None,
                )
            )
        return states

    # --- creators ----------------------------------------------------------------------------
    async def creator(self, creator_id: str, *, now_ms: int | None = None) -> dict[str, Any] | None:
        """One creator's metrics, computed fresh; None if the creator is unknown."""
        now = await self.watermark() if now_ms is None else now_ms
        (state,) = await self.creator_states([creator_id], now)
        if not state.known:
            return None
        return creator_metrics(state, now, self.bands)

    async def creator_detail(self, creator_id: str) -> dict[str, Any] | None:
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
                {"t_ms": int(t), "followers": int(f)}
                for t, _, f in (str(m).partition(":") for m in snaps)
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
        docs = await self._redis.mget([self._keys.creator_doc(i) for i in ids])
        return [loads(d) for d in docs if d is not None]

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
        pipe = self._redis.pipeline(transaction=False)
        n_days, n_min = self._queue_buckets(pipe, base, now, 24)
        replies = await pipe.execute()
        hours = self._merge(replies[:n_days])
        minutes = self._merge(replies[n_days : n_days + n_min])
        window = hour_window(now, 24)
        docs = [
            creator_metrics(s, now, self.bands) for s in await self.creator_states(members, now)
        ]
        doc: dict[str, Any] = {"community": name, "creators": len(members)}
        for metric in ("followers", "growth_24h", "growth_7d"):
            values = [d[metric] for d in docs if d[metric] is not None]
            doc[metric] = sum(values) if values else None
        for metric in ("growth_24h", "growth_7d"):
            old = sum(
                d["followers"] - d[metric]
                for d in docs
                if d[metric] is not None and d["followers"] is not None
            )
            doc[f"{metric}_pct"] = (
                None if doc[metric] is None or old == 0 else round(doc[metric] * 100.0 / old, 4)
            )
        for metric in ("engagement_rate_24h", "engagement_rate_7d"):
            values = [d[metric] for d in docs if d[metric] is not None]
            doc[metric] = round(sum(values) / len(values), 6) if values else None
        doc["posts_24h"] = sum(hours.get(f"po:{h}", 0) for h in window)
        doc.update(activity_metrics(hours, minutes, now))
        doc["as_of_ms"] = now
        return doc

    # --- leaderboards ------------------------------------------------------------------------
    async def refresh(
        self, creator_ids: Sequence[str], now_ms: int | None = None, *, changed: bool = False
    ) -> int:
        """Recompute metric docs and leaderboard entries for these creators.

        ``changed``: their state just changed (the ingest pipeline), so always write. Otherwise
        (the periodic pass) a creator whose document was computed at a newer watermark is left
        alone: it is fresher than this pass could make it (see monitor/lua/leaderboard.lua).
        Reads go through one script per chunk of creators; writes through another that only
        touches the boards whose value changed.
        """
        if not creator_ids:
            return 0
        now = await self.watermark() if now_ms is None else now_ms
        states = await self.creator_states(creator_ids, now, hours=24)
        keys = self._keys
        head = [keys.leaderboard(""), ",".join(SORTABLE_METRICS), now, "1" if changed else "0"]
        calls: list[list[Any]] = []
        args: list[Any] = []
        for state in states:
            if not state.known or (not changed and int(state.meta.get("lbnow") or -1) > now):
                continue
            doc = creator_metrics(state, now, self.bands)
            cid = doc["creator_id"]
            args += [
                cid,
                keys.creator_meta(cid),
                keys.creator_doc(cid),
                dumps(doc),
                doc["tier"] or "",
                doc["community"] or "",
                _SEP.join(_board_value(doc[m]) for m in SORTABLE_METRICS),
            ]
            if len(args) >= 7 * SCRIPT_CHUNK:
                calls.append([*head, *args])
                args = []
        if args:
            calls.append([*head, *args])
        if calls:
            await self._run_script(self._leaderboard_lua, calls)
        return len(states)

    def _queue_leaderboard(self, pipe: Any, doc: dict[str, Any], meta: Any) -> None:
        keys, cid = self._keys, doc["creator_id"]
        tier, community = doc["tier"], doc["community"]
        old_tier, old_community = meta.get("lbtier"), meta.get("lbg")
        pipe.set(keys.creator_doc(cid), dumps(doc))
        for metric in SORTABLE_METRICS:
            if old_tier and old_tier != tier:
                pipe.zrem(keys.leaderboard(metric, tier=old_tier), cid)
            if old_community and old_community != community:
                pipe.zrem(keys.leaderboard(metric, community=old_community), cid)
            value = doc[metric]
            boards = [keys.leaderboard(metric)]
            if tier:
                boards.append(keys.leaderboard(metric, tier=tier))
            if community:
                boards.append(keys.leaderboard(metric, community=community))
            for board in boards:
                if value is None:
                    pipe.zrem(board, cid)
                else:
                    pipe.zadd(board, {cid: value})
        # lbv "" makes the next scripted refresh rewrite every board, and lbnow -1 lets the
        # next periodic pass write (see leaderboard.lua)
        pipe.hset(
            keys.creator_meta(cid),
            mapping={"lbtier": tier or "", "lbg": community or "", "lbv": "", "lbnow": "-1"},
        )

    async def progress(self) -> str:
        """Watermark and applied-event count: the tables change only when this does."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._keys.watermark)
        pipe.hmget(self._keys.stats, ["applied", "late"])
        wm, (applied, late) = await pipe.execute()
        return f"{wm or 0}:{applied or 0}:{late or 0}"

    async def mark_refreshed(self, progress: str) -> None:
        await self._redis.hset(self._keys.refreshed, mapping={"progress": progress})

    async def refreshed_progress(self) -> str:
        return str(await self._redis.hget(self._keys.refreshed, "progress") or "")


def _post(raw: str) -> PostState:
    created, observed, total = raw.split("|")
    return PostState(created_ms=int(created), observed_ms=int(observed), interactions=int(total))


__all__ = ["HOUR_MS", "Tables"]
