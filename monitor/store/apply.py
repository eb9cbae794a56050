"""Applies batch plans to Redis through one atomic Lua script (the write side of the tables)."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.ingest.plan import BatchPlan
from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.store.keys import (
    DETECT_STEP_MS,
    DUE_CHANGED,
    EVIDENCE_KEEP,
    MINUTE_KEEP_MS,
    MINUTE_TTL_S,
    TTL_SLACK_S,
    Keys,
)
from schemas.codec import dumps, loads

log = get_logger(__name__)

TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


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


async def with_retry(what: str, call: Any, *, max_delay_s: float) -> Any:
    """Await ``call()`` until Redis answers, backing off with jitter; never gives up.

    Safe for the batch script because its offset guard makes a repeat a no-op.
    """
    delay = 0.1
    attempt = 0
    while True:
        try:
            return await call()
        except TRANSIENT as exc:
            attempt += 1
            log.warning(
                "redis unavailable, retrying",
                op=what,
                attempt=attempt,
                error=type(exc).__name__,
                delay_s=round(delay, 2),
            )
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, max_delay_s)


class TableStore:
    def __init__(self, redis: aioredis.Redis, keys: Keys, settings: Settings) -> None:
        self._redis = redis
        self._keys = keys
        self._settings = settings
        source = resources.files("monitor").joinpath("store/lua/apply_batch.lua").read_text("utf-8")
        self._script = redis.register_script(source)
        retention_s = settings.retention_s
        self._static = {
            "retention_ms": retention_s * 1000,
            "minute_keep_ms": MINUTE_KEEP_MS,
            "day_ttl_s": retention_s + TTL_SLACK_S,
            "minute_ttl_s": MINUTE_TTL_S,
            "dedup_ttl_s": retention_s + TTL_SLACK_S,
            "post_ttl_s": retention_s + TTL_SLACK_S,
            "evidence_keep": EVIDENCE_KEEP,
            "step_ms": DETECT_STEP_MS,
            "due_changed": DUE_CHANGED,
        }

    async def watermark(self) -> int:
        raw = await with_retry(
            "get_watermark",
            lambda: self._redis.get(self._keys.watermark),
            max_delay_s=self._settings.redis_retry_max_s,
        )
        return int(raw or 0)

    async def apply(self, plan: BatchPlan) -> BatchResult:
        request = dumps({**self._static, **plan.request(), "wall_ms": int(time.time() * 1000)})
        raw = await with_retry(
            "apply_batch",
            lambda: self._script(args=[self._keys.prefix, request]),
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
