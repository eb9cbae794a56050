"""Background work of a worker: follow brand rules; the leader keeps the leaderboards current."""

from __future__ import annotations

import asyncio
from typing import cast

from redis.exceptions import RedisError

from monitor.app import Runtime
from monitor.brands.feed import follow_rules
from monitor.brands.rules import BrandRule, rule_public_dict
from monitor.logs import get_logger
from monitor.store.client import RedisMapping
from monitor.store.leaderboard import Leaderboard
from monitor.store.refresher import Refresher
from schemas.codec import dumps

log = get_logger(__name__)


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

    refresher = Refresher(Leaderboard(rt.redis, rt.keys, rt.settings, rt.tables))

    async def refresh_leaderboards() -> None:
        # An exception escaping a faust timer stops the worker: Redis being away is not a reason.
        # One worker (the leader) refreshes for the group: the due set is shared.
        try:
            await refresher.run_once()
        except (RedisError, OSError) as exc:
            log.warning("leaderboard refresh skipped: redis unavailable", error=type(exc).__name__)

    rt.app.timer(interval=rt.settings.leaderboard_refresh_s, on_leader=True)(refresh_leaderboards)
