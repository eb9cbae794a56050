"""Read API of the live tables, plus the leaderboard writer that keeps top-N queries scan-free.

The web view, the CLI and the tests go through here rather than raw keys. Single-creator reads
compute fresh from bucket state (exact at the current watermark); listings read leaderboard sorted
sets and the metric documents written alongside them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from monitor.core.metrics import (
    SORTABLE_METRICS,
    CreatorState,
    History,
    PostState,
    PostWindows,
    TierBands,
    activity_metrics,
    creator_metrics,
    hourly_series,
    next_change_ms,
)
from monitor.core.windows import (
    USUAL_HOURS,
    days_for_hours,
    history_hours,
    hour_window,
    hours_for_minutes,
    minute_window,
)
from monitor.settings import Settings
from monitor.store.keys import (
    DAY_MS,
    HOUR_MS,
    Keys,
    followers_zset,
    hour_hash,
    members_set,
    minute_hash,
    posts_hash,
)
from schemas.codec import dumps, loads

# Creators per script call: one call holds Redis for a few milliseconds, not more.
SCRIPT_CHUNK: Final = 250
# Creators per refresh round: a round holds the event loop for ~10 ms, not more (alert latency).
REFRESH_ROUND: Final = 100
# Separates a creator's leaderboard values in the `lbv` field (never inside a number).
_SEP: Final = "\x1f"
_NO_VALUE: Final = ""


def _lua(name: str) -> str:
    return resources.files("monitor").joinpath(f"store/lua/{name}").read_text("utf-8")


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


def _post_sums(raw: list[int]) -> PostWindows:
    c24, i24, o24, c7, i7, o7 = raw
    return PostWindows(
        count_24h=c24,
        interactions_24h=i24,
        oldest_24h=None if o24 < 0 else o24,
        count_7d=c7,
        interactions_7d=i7,
        oldest_7d=None if o7 < 0 else o7,
    )


def _snapshot_time(raw: list[Any]) -> int | None:
    snap = _snapshot(raw)
    return None if snap is None else snap[0]


def refreshed_watermark(progress: str | None) -> int:
    """The watermark the refresher's progress mark (``wm:applied:late``) says documents hold at."""
    return int(str(progress or "0").partition(":")[0])


def _ints(raw: dict[str, str]) -> dict[str, int]:
    return {k: int(v) for k, v in raw.items()}


class Tables:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._retention_ms = settings.retention_s * 1000
        self.bands = TierBands.from_settings(settings)
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
        horizon = now_ms - self._retention_ms
        h24, m60 = hour_window(now_ms, 24), minute_window(now_ms, 60)
        days = days_for_hours(h24 if summed else hour_window(now_ms, hours))
        minute_hours = hours_for_minutes(m60)
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
        windows = ""
        if summed:
            last_h, last_m = h24.stop - 1, m60.stop - 1
            windows = f"{len(days)},{h24.start},{last_h},{len(minute_hours)},{m60.start},{last_m}"
        head += [",".join(suffixes), followers_zset(""), spec, windows]
        calls = [
            [*head, *(self._keys.creator(c) for c in creator_ids[i : i + SCRIPT_CHUNK])]
            for i in range(0, len(creator_ids), SCRIPT_CHUNK)
        ]
        replies = [r for chunk in await self._run_script(self._states_lua, calls) for r in chunk]
        n_days = 1 if summed else len(days)
        states = []
        for cid, reply in zip(creator_ids, replies, strict=True):
            hours_merged: dict[str, int] = {}
            for part in reply[8 : 8 + n_days]:
                _int_pairs(part, hours_merged)
            minutes: dict[str, int] = {}
            for part in reply[8 + n_days :]:
                _int_pairs(part, minutes)
            sums = reply[6]
            states.append(
                CreatorState(
                    creator_id=cid,
                    meta=_pairs(reply[0]),
                    newest=_snapshot(reply[1]),
                    at_24h=_snapshot(reply[2]),
                    at_7d=_snapshot(reply[3]),
                    after_24h=_snapshot_time(reply[4]),
                    after_7d=_snapshot_time(reply[5]),
                    posts={} if summed else {p: _post(v) for p, v in _pairs(reply[7]).items()},
                    post_sums=_post_sums(reply[7]) if summed else None,
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
        pipe = self._redis.pipeline(transaction=False)
        n_days, n_min = self._queue_buckets(pipe, base, now, 24)
        replies = await pipe.execute()
        hours = self._merge(replies[:n_days])
        minutes = self._merge(replies[n_days : n_days + n_min])
        window = hour_window(now, 24)
        docs = [
            creator_metrics(s, now, self.bands)
            for s in await self.creator_states(members, now, summed=True)
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
    async def _version(self, due: int = 0) -> tuple[str, int, int, list[tuple[str, float]]]:
        """Progress, watermark, state version and the ``due`` first entries of the due set, read
        atomically (before any state is read).

        Reading the due entries in the same transaction matters: an entry a later batch touched
        then has a score the round did not read, so leaderboard.lua keeps it due. Read after the
        watermark, it could carry a change the documents, computed at the older watermark, do not
        show, and be moved on all the same.
        """
        pipe = self._redis.pipeline(transaction=True)
        pipe.get(self._keys.watermark)
        pipe.hmget(self._keys.stats, ["applied", "late"])
        pipe.get(self._keys.version)
        if due:
            pipe.zrange(self._keys.due, 0, due - 1, withscores=True)
        wm, (applied, late), version, *entries = await pipe.execute()
        now = int(wm or 0)
        ready = [(cid, score) for cid, score in (entries[0] if entries else []) if score <= now]
        return f"{wm or 0}:{applied or 0}:{late or 0}", now, int(version or 0), ready

    async def refresh(self, creator_ids: Sequence[str]) -> int:
        """Recompute these creators' metric documents and leaderboard entries now."""
        _, now, version, _ = await self._version()
        await self._write_docs(creator_ids, now, version, None)
        return len(creator_ids)

    async def refresh_due(self, limit: int = REFRESH_ROUND) -> RefreshRound:
        """One round over the creators whose documents are due at the watermark, oldest first.

        Due: the creator's state changed (the batch script marks it), or a window edge passed its
        data (``next_change_ms``). Quiet creators cost nothing until then, however often the
        watermark moves.
        """
        progress, now, version, raw = await self._version(due=limit)
        ids = [cid for cid, _ in raw]
        await self._write_docs(ids, now, version, [repr(score) for _, score in raw])
        return RefreshRound(progress=progress, creators=len(ids), complete=len(ids) < limit)

    async def _write_docs(
        self, creator_ids: Sequence[str], now: int, version: int, due: list[str] | None
    ) -> None:
        """Compute documents at ``now`` and hand them to leaderboard.lua with their next change.

        ``due``: the due scores as read, so the script moves an entry on only if no batch has
        touched the creator since.
        """
        if creator_ids:
            states = await self.creator_states(creator_ids, now, summed=True)
            await self.write_states(states, now, version, due)

    async def write_states(
        self,
        states: Sequence[CreatorState],
        now: int,
        version: int,
        due: Sequence[str] | None = None,
    ) -> None:
        """Write the documents and leaderboard entries of these states (the one writer)."""
        keys = self._keys
        head = [keys.leaderboard(""), ",".join(SORTABLE_METRICS), now, version, keys.due]
        calls: list[list[Any]] = []
        args: list[Any] = []
        for n, state in enumerate(states):
            cid = state.creator_id
            if state.known:
                doc = creator_metrics(state, now, self.bands)
                nxt = next_change_ms(state, now, self._retention_ms)
                args += [
                    cid,
                    keys.creator_meta(cid),
                    keys.creator_doc(cid),
                    dumps(doc),
                    doc["tier"] or "",
                    doc["community"] or "",
                    _SEP.join(_board_value(doc[m]) for m in SORTABLE_METRICS),
                ]
            else:  # nothing stored (expired): no document, and never due again by itself
                nxt = None
                args += [cid, keys.creator_meta(cid), "", "", "", "", ""]
            args += [_NO_VALUE if due is None else due[n], _NO_VALUE if nxt is None else nxt]
            if len(args) >= 9 * SCRIPT_CHUNK:
                calls.append([*head, *args])
                args = []
        if args:
            calls.append([*head, *args])
        await self._run_script(self._leaderboard_lua, calls)

    async def mark_refreshed(self, progress: str) -> None:
        await self._redis.hset(self._keys.refreshed, mapping={"progress": progress})


@dataclass(frozen=True, slots=True)
class RefreshRound:
    progress: str  # as read before the round
    creators: int
    complete: bool  # nothing was left due at that progress


def _post(raw: str) -> PostState:
    created, observed, total = raw.split("|")
    return PostState(created_ms=int(created), observed_ms=int(observed), interactions=int(total))


__all__ = ["HOUR_MS", "Tables"]
