"""Keeps metric documents and leaderboards current without starving ingestion.

Creators are recomputed when they are due (monitor/store/leaderboard.py: refresh_due): after
their state changed, or when a window edge passes their data. A replay at full speed makes many
creators due at once; rounds are then paced so refreshing takes at most ``share`` of the
worker's time, and the leaderboards lag a little instead of the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Final

from monitor.logs import get_logger
from monitor.store.leaderboard import Leaderboard

log = get_logger(__name__)

SHARE: Final = 0.3


class Refresher:
    def __init__(
        self,
        leaderboard: Leaderboard,
        *,
        share: float = SHARE,
        clock: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < share <= 1:
            raise ValueError("share must be in (0, 1]")
        self._leaderboard = leaderboard
        self._rest = 1 / share - 1
        self._clock = clock
        self._sleep = sleep
        self._marked = ""

    async def run_once(self) -> int:
        """Refresh every creator due now; returns how many were recomputed.

        When nothing is left due, the progress read before the last round is recorded as
        refreshed: every change up to it is in the documents.
        """
        total = 0
        while True:
            started = self._clock()
            done = await self._leaderboard.refresh_due()
            total += done.creators
            if done.complete:
                if done.progress != self._marked and not done.progress.startswith("0:"):
                    await self._leaderboard.mark_refreshed(done.progress)
                    self._marked = done.progress
                if total:
                    log.debug("documents refreshed", creators=total, progress=done.progress)
                return total
            await self._sleep((self._clock() - started) * self._rest)
