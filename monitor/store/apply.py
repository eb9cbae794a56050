"""Applies batch plans to Redis through one atomic Lua script (the write side of the tables)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import OutOfMemoryError, ReadOnlyError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.ingest.plan import BatchPlan
from monitor.logs import get_logger
from monitor.retry import retry
from monitor.settings import Settings
from monitor.store.keys import (
    DETECT_STEP_MS,
    DUE_CHANGED,
    EVIDENCE_KEEP,
    TTL_SLACK_S,
    Keys,
)
from monitor.store.scripts import lua_source
from schemas.codec import dumps, loads

log = get_logger(__name__)

# Waited out: Redis away, a replica answering during a failover, memory full until it is freed.
# None is about a record, so none may dead-letter one; any other error is (ingest/pipeline.py).
TRANSIENT = (
    RedisConnectionError,
    RedisTimeoutError,
    ConnectionError,
    OSError,
    ReadOnlyError,
    OutOfMemoryError,
)


@dataclass(frozen=True, slots=True)
class BatchResult:
    watermark_ms: int
    applied: int
    duplicates: int
    late: int
    creators: list[str]
    brands: list[str]


def _as_list(value: Any) -> list[str]:
    # cjson encodes an empty Lua table as {}.
    return list(value) if isinstance(value, list) else []


class TableStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        self._script = redis.register_script(lua_source("apply_batch.lua"))
        retention_s = settings.retention_s
        self._static = {
            "retention_ms": retention_s * 1000,
            "day_ttl_s": retention_s + TTL_SLACK_S,
            "dedup_ttl_s": retention_s + TTL_SLACK_S,
            "post_ttl_s": retention_s + TTL_SLACK_S,
            "evidence_keep": EVIDENCE_KEEP,
            "step_ms": DETECT_STEP_MS,
            "due_changed": DUE_CHANGED,
        }

    async def watermark(self) -> int:
        raw = await retry(
            "get_watermark",
            lambda: self._redis.get(self._keys.watermark),
            transient=TRANSIENT,
            max_delay_s=self._settings.redis_retry_max_s,
        )
        return int(raw or 0)

    async def apply(self, plan: BatchPlan) -> BatchResult:
        request = dumps({**self._static, **plan.request(), "wall_ms": int(time.time() * 1000)})
        # Retried for ever: the offset guard makes a repeat of an applied batch a no-op.
        raw = await retry(
            "apply_batch",
            lambda: self._script(args=[self._keys.prefix, request]),
            transient=TRANSIENT,
            max_delay_s=self._settings.redis_retry_max_s,
        )
        out = loads(raw)
        return BatchResult(
            watermark_ms=int(out["wm"]),
            applied=int(out["applied"]),
            duplicates=int(out["duplicates"]),
            late=int(out["late"]),
            creators=_as_list(out["creators"]),
            brands=_as_list(out["brands"]),
        )
