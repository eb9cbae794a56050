"""The Redis client, built from Settings in one place, and the mapping type its writes take."""

from __future__ import annotations

from collections.abc import Mapping

import redis.asyncio as aioredis
from redis.typing import EncodableT, FieldT

from monitor.settings import Settings

# What redis-py's hset(mapping=...) accepts; our dicts of str/bytes are passed through this.
RedisMapping = Mapping[FieldT, EncodableT]


def make_redis(settings: Settings) -> aioredis.Redis:
    """An async Redis client; every call has a timeout so a stuck server cannot hang a rebalance."""
    client: aioredis.Redis = aioredis.Redis.from_url(
        settings.redis.reveal(),
        decode_responses=True,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
        health_check_interval=30,
    )
    return client
