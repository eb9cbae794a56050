"""The inhibition state in Redis (I/O): one key per brand, so a restart still knows what fires.

The notifier commits offsets past a critical record once it is delivered; were the state only in
memory, a restart would forget it and send the next warning repeat. The key expires
``INHIBIT_TTL_S`` after the last critical record, in case the episode's resolved record never
comes (its detector state dropped).
"""

from __future__ import annotations

from typing import cast

import redis.asyncio as aioredis

from monitor.notify.inhibit import SOURCE_TYPE, inhibit_step
from monitor.store.keys import INHIBIT_TTL_S, Keys
from schemas.records import Alert


class Inhibitions:
    def __init__(self, redis: aioredis.Redis, keys: Keys) -> None:
        self._redis = redis
        self._k = keys

    async def inhibited(self, alert: Alert) -> bool:
        """Advance the brand's state with this record; True when Slack is to be spared it."""
        if alert.type != SOURCE_TYPE or alert.brand is None:
            return False
        key = self._k.inhibiting(alert.brand)
        before = cast(str | None, await self._redis.get(key))  # decode_responses=True
        after, muted = inhibit_step(before, alert)
        if after is None and before is not None:
            await self._redis.delete(key)
        elif after is not None and (after != before or alert.severity == "critical"):
            await self._redis.set(key, after, ex=INHIBIT_TTL_S)
        return muted
