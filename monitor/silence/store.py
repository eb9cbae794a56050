"""Silences in Redis (I/O): one hash, so they survive restarts and every process sees the same.

Expired silences are kept ``SILENCE_KEEP_EXPIRED_S`` after their end (listed as expired), then
pruned by whichever read comes next; there is no sweeper to run.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

from monitor.silence.model import Silence, oldest_first, silence_from_dict
from monitor.store.keys import SILENCE_KEEP_EXPIRED_S, Keys
from schemas.codec import dumps, loads


class SilenceStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._key = keys.silences

    async def add(self, silence: Silence) -> None:
        await self._redis.hset(self._key, silence.silence_id, dumps(silence.to_dict()))

    async def all(self, now_ms: int) -> list[Silence]:
        """Every silence kept, oldest first; drops those expired more than a day ago."""
        raw = cast(dict[str, str], await self._redis.hgetall(self._key))
        silences = [silence_from_dict(loads(value)) for value in raw.values()]
        stale = [
            s.silence_id for s in silences if s.ends_at_ms + SILENCE_KEEP_EXPIRED_S * 1000 <= now_ms
        ]
        if stale:
            await self._redis.hdel(self._key, *stale)
        gone = set(stale)
        return oldest_first(s for s in silences if s.silence_id not in gone)

    async def active(self, now_ms: int) -> list[Silence]:
        return [s for s in await self.all(now_ms) if s.active(now_ms)]

    async def expire(self, silence_id: str, now_ms: int) -> Silence | None:
        """End the silence now; None when there is no such silence (kept records stay kept)."""
        raw = await self._redis.hget(self._key, silence_id)
        if raw is None:
            return None
        ended = silence_from_dict(loads(cast(str, raw))).expired_at(now_ms)
        await self.add(ended)
        return ended
