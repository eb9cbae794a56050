"""Background work of a worker: follow brand rules, refresh leaderboards as the watermark moves."""

from __future__ import annotations

import asyncio
from typing import cast

from redis.exceptions import RedisError

from monitor.app import Runtime
from monitor.clients import RedisMapping
from monitor.logs import get_logger
from monitor.rules import BrandRule, rule_public_dict
from monitor.rules_feed import follow_rules
from schemas.codec import dumps

log = get_logger(__name__)

REFRESH_CHUNK = 500


def register(rt: Runtime) -> None:
    async def rules() -> None:
        await follow_rules(rt.settings, rt.rules)

    rt.app.task(rules)

    def mirror(_: dict[str, BrandRule]) -> None:
        task = asyncio.ensure_future(_mirror())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _mirror() -> None:
        # The web view reads Redis only: keep a public copy (webhooks masked) of the live rules.
        # Each write takes the rules as they are when it runs, so the last write is the newest.
        public = {b: dumps(rule_public_dict(r)) for b, r in rt.rules.rules.items()}
        key = rt.keys.rules
        pipe = rt.redis.pipeline(transaction=True)
        pipe.delete(key)
        if public:
            pipe.hset(key, mapping=cast(RedisMapping, public))
        try:
            await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("rules mirror skipped: redis unavailable", error=type(exc).__name__)

    tasks: set[asyncio.Future[None]] = set()
    rt.rules.on_change(mirror)

    async def refresh_leaderboards() -> None:
        # An exception escaping a faust timer stops the worker: Redis being away is not a reason.
        try:
            await _refresh_leaderboards()
        except (RedisError, OSError) as exc:
            log.warning("leaderboard refresh skipped: redis unavailable", error=type(exc).__name__)

    async def _refresh_leaderboards() -> None:
        # Windows slide with the watermark even for creators that were quiet, so every creator's
        # entry is recomputed whenever the watermark has moved since the last full pass.
        # Progress is read before the pass: events applied during it make the next tick run again,
        # so a pass racing a batch can never leave a stale entry behind for good.
        progress = await rt.tables.progress()
        if progress.startswith("0:") or progress == await rt.tables.refreshed_progress():
            return
        wm = int(progress.partition(":")[0])
        ids = await rt.tables.all_creator_ids()
        for i in range(0, len(ids), REFRESH_CHUNK):
            await rt.tables.refresh(ids[i : i + REFRESH_CHUNK], wm)
        await rt.tables.mark_refreshed(progress)
        log.debug("leaderboards refreshed", creators=len(ids), watermark_ms=wm)

    rt.app.timer(interval=rt.settings.leaderboard_refresh_s)(refresh_leaderboards)
