"""The delivery log (Alertmanager's ``nflog``): which alert records already have an outcome.

One Redis marker per alert record (``Alert.delivery_marker``), written once the record was
delivered or dead-lettered and before its offset may be committed, so a restart that re-reads it
skips it instead of sending it twice. Markers outlive a restart by ``NOTIFIED_TTL_S``.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Final, Literal, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from monitor.retry import retry
from monitor.store.keys import NOTIFIED_TTL_S, Keys

T = TypeVar("T")
Outcome = Literal["delivered", "deadletter"]

SETTLED_KEEP: Final = 50_000


class DeliveryLog:
    """Markers in Redis, plus the markers this process settled lately."""

    __slots__ = ("_clock", "_give_up_after_s", "_keys", "_redis", "_rng", "_settled")

    def __init__(
        self,
        redis: aioredis.Redis,
        keys: Keys,
        *,
        give_up_after_s: float,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._give_up_after_s = give_up_after_s
        self._clock = clock
        self._rng = rng
        # Newest last: a duplicate record read while its twin was being marked in Redis must not
        # slip between the Redis check and the notifier's pending alerts.
        self._settled: OrderedDict[str, None] = OrderedDict()

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await retry(
            what,
            call,
            transient=(RedisError, OSError),
            base_s=0.2,
            max_delay_s=5.0,
            give_up_after_s=self._give_up_after_s,
            clock=self._clock,
            rng=self._rng,
        )

    async def recorded(self, markers: Sequence[str]) -> list[bool]:
        """Per marker: does Redis hold an outcome for it?"""
        if not markers:
            return []

        async def check() -> list[bool]:
            pipe = self._redis.pipeline(transaction=False)
            for marker in markers:
                pipe.exists(self._keys.notified(marker))
            return [bool(n) for n in await pipe.execute()]

        return await self._retrying("check delivered", check)

    async def record(self, markers: Sequence[str], outcome: Outcome) -> None:
        """Write each marker's outcome to Redis (retried: the offset waits for it)."""

        async def write() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for marker in markers:
                pipe.set(self._keys.notified(marker), outcome, ex=NOTIFIED_TTL_S)
            await pipe.execute()

        await self._retrying("mark " + outcome, write)

    def settle(self, marker: str) -> None:
        """This process is done with ``marker`` (recorded, or filtered out)."""
        self._settled[marker] = None
        if len(self._settled) > SETTLED_KEEP:
            self._settled.popitem(last=False)

    def settled_here(self, marker: str) -> bool:
        return marker in self._settled
