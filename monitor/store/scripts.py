"""The Lua scripts in monitor/store/lua/, and the one way the read side runs them (EVALSHA)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError


def lua_source(name: str) -> str:
    """The text of ``monitor/store/lua/<name>`` (package data, so it ships in the wheel)."""
    return resources.files("monitor").joinpath(f"store/lua/{name}").read_text("utf-8")


class ScriptRunner:
    """EVALSHA calls pipelined in one round trip, with each script's SHA cached per client."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._shas: dict[str, str] = {}

    async def run(self, source: str, calls: list[list[Any]]) -> list[Any]:
        """EVALSHA every argument list in one pipeline; loads the script once if Redis lacks it.

        Only for scripts that are safe to repeat (creator_states.lua reads; leaderboard.lua
        writes the same values again).
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
