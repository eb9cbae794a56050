"""The one writer of metric documents and leaderboard entries, and the refresh round behind it.

Listings (monitor/store/creators.py: top_creators) read sorted sets and documents instead of
scanning creators; this keeps them current. A creator is recomputed when it is due (the batch
script marks changed creators; a window edge passing its data makes it due again), so quiet
creators cost nothing however often the watermark moves. monitor/store/refresher.py paces the
rounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import redis.asyncio as aioredis

from monitor.core.metrics import (
    SORTABLE_METRICS,
    CreatorState,
    creator_metrics,
    next_change_ms,
)
from monitor.settings import Settings
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from monitor.store.scripts import ScriptRunner, lua_source
from monitor.store.states import SCRIPT_CHUNK
from schemas.codec import dumps

# Creators per refresh round: a round holds the event loop for ~10 ms, not more (alert latency).
REFRESH_ROUND: Final = 100
# Arguments per creator in a leaderboard.lua call (listed at the head of that script).
_ARGS_PER_CREATOR: Final = 9
# Separates a creator's leaderboard values in the `lbv` field (never inside a number).
_SEP: Final = "\x1f"
_NO_VALUE: Final = ""


@dataclass(frozen=True, slots=True)
class RefreshRound:
    progress: str  # as read before the round
    creators: int
    complete: bool  # nothing was left due at that progress


@dataclass(frozen=True, slots=True)
class _Progress:
    """What a round reads atomically before any state (see ``Leaderboard._version``)."""

    progress: str  # "watermark:applied:late", the refresher's mark
    now_ms: int  # the watermark
    version: int  # the state version (lb:ver)
    due: list[tuple[str, float]]  # due entries at or before the watermark, oldest first


def _board_value(value: Any) -> str:
    # what redis-py sends for an int or float score (repr), so ZADD stores the same double
    return _NO_VALUE if value is None else repr(value)


class Leaderboard:
    def __init__(
        self, redis: aioredis.Redis, keys: Keys, settings: Settings, tables: Tables
    ) -> None:
        self._redis, self._keys, self._tables = redis, keys, tables
        self._retention_ms = settings.retention_s * 1000
        self._scripts = ScriptRunner(redis)
        self._leaderboard_lua = lua_source("leaderboard.lua")

    async def _version(self, due: int = 0) -> _Progress:
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
        return _Progress(f"{wm or 0}:{applied or 0}:{late or 0}", now, int(version or 0), ready)

    async def refresh(self, creator_ids: Sequence[str]) -> int:
        """Recompute these creators' metric documents and leaderboard entries now."""
        read = await self._version()
        await self._write_docs(creator_ids, read.now_ms, read.version, None)
        return len(creator_ids)

    async def refresh_due(self, limit: int = REFRESH_ROUND) -> RefreshRound:
        """One round over the creators whose documents are due at the watermark, oldest first.

        Due: the creator's state changed (the batch script marks it), or a window edge passed its
        data (``next_change_ms``). Quiet creators cost nothing until then, however often the
        watermark moves.
        """
        read = await self._version(due=limit)
        ids = [cid for cid, _ in read.due]
        await self._write_docs(ids, read.now_ms, read.version, [repr(s) for _, s in read.due])
        return RefreshRound(progress=read.progress, creators=len(ids), complete=len(ids) < limit)

    async def _write_docs(
        self, creator_ids: Sequence[str], now: int, version: int, due: list[str] | None
    ) -> None:
        """Compute documents at ``now`` and hand them to leaderboard.lua with their next change.

        ``due``: the due scores as read, so the script moves an entry on only if no batch has
        touched the creator since.
        """
        if creator_ids:
            states = await self._tables.creator_states(creator_ids, now, summed=True)
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
            args += self._creator_args(state, now)
            args.append(_NO_VALUE if due is None else due[n])
            nxt = next_change_ms(state, now, self._retention_ms) if state.known else None
            args.append(_NO_VALUE if nxt is None else nxt)
            if len(args) >= _ARGS_PER_CREATOR * SCRIPT_CHUNK:
                calls.append([*head, *args])
                args = []
        if args:
            calls.append([*head, *args])
        await self._scripts.run(self._leaderboard_lua, calls)

    def _creator_args(self, state: CreatorState, now: int) -> list[Any]:
        """The first seven of leaderboard.lua's values per creator: who, and what to write."""
        cid = state.creator_id
        if not state.known:  # nothing stored (expired): no document, and never due again by itself
            return [cid, self._keys.creator_meta(cid), "", "", "", "", ""]
        doc = creator_metrics(state, now, self._tables.bands)
        return [
            cid,
            self._keys.creator_meta(cid),
            self._keys.creator_doc(cid),
            dumps(doc),
            doc["tier"] or "",
            doc["community"] or "",
            _SEP.join(_board_value(doc[m]) for m in SORTABLE_METRICS),
        ]

    async def mark_refreshed(self, progress: str) -> None:
        """Record that every change up to ``progress`` is in the documents (read by listings)."""
        await self._redis.hset(self._keys.refreshed, mapping={"progress": progress})


__all__ = ["REFRESH_ROUND", "Leaderboard", "RefreshRound"]
