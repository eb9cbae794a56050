"""The one retry helper: await a call until it succeeds, backing off with jitter.

Every place that waits out an outage (Redis away, the broker restarting, Slack rate limits) goes
through :func:`retry`, so the backoff shape, the log line and the give-up rule are the same
everywhere. Only errors that can succeed later belong in ``transient``: a request Kafka refuses
as too large, or a script error, fails the same way every time and must not be retried.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from monitor.logs import get_logger

log = get_logger(__name__)

T = TypeVar("T")


def backoff_delay(attempt: int, *, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with equal jitter: half the step fixed, half random."""
    step = min(max_s, base_s * float(2 ** min(attempt, 30)))
    return step / 2 + rng.uniform(0, step / 2)


async def retry(
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    transient: tuple[type[BaseException], ...],
    base_s: float = 0.1,
    max_delay_s: float = 10.0,
    give_up_after_s: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """``await call()`` until it returns; a ``transient`` error waits and tries again.

    ``give_up_after_s`` None retries for ever (the batch script's offset guard makes a repeat a
    no-op, so waiting for Redis is always safe); otherwise the last error is raised once that
    much time has passed since the first try.
    """
    deadline = None if give_up_after_s is None else clock() + give_up_after_s
    jitter = rng or random.Random()
    attempt = 0
    while True:
        try:
            return await call()
        except transient as exc:
            if deadline is not None and clock() >= deadline:
                raise
            delay = backoff_delay(attempt, base_s=base_s, max_s=max_delay_s, rng=jitter)
            attempt += 1
            log.warning(
                "call failed, retrying",
                op=what,
                attempt=attempt,
                error=type(exc).__name__,
                delay_s=round(delay, 2),
            )
            await asyncio.sleep(delay)
