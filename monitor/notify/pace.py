"""Pacing and retry decisions for one webhook (pure): when to post next, and whether to retry.

Slack allows about one message per second per webhook and may ask for more time (429 with
``Retry-After``). A failed post is retried with the shared backoff (``monitor.retry.backoff_delay``)
until ``retry_max_s`` has passed since the first try; the last wait is cut to end at that bound.
"""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass

from monitor.notify.options import NotifierOptions
from monitor.notify.slack import Verdict
from monitor.retry import backoff_delay


@dataclass(slots=True)
class Pace:
    """When a webhook may be posted to next."""

    min_interval_s: float
    next_post_at: float = 0.0

    def wait_s(self, now: float) -> float:
        """How long until the next post is allowed (0 when it is)."""
        return max(0.0, self.next_post_at - now)

    def posting(self, now: float) -> None:
        """A post starts now: the next one waits ``min_interval_s``."""
        self.next_post_at = now + self.min_interval_s

    def hold_until(self, at: float) -> None:
        """No post before ``at`` (never brings the next post forward)."""
        self.next_post_at = max(self.next_post_at, at)


def next_step(
    verdict: Verdict,
    *,
    attempt: int,
    elapsed_s: float,
    options: NotifierOptions,
    rng: random.Random,
) -> Verdict | float:
    """After attempt ``attempt`` (0 first): the final verdict, or seconds to wait before retrying.

    Delivered and permanent answers are final; a retryable one waits Slack's ``Retry-After`` if it
    gave one, else the backoff, cut to what is left of ``retry_max_s``; past that bound the verdict
    becomes final, its reason saying how many attempts it took.
    """
    if verdict.kind in ("delivered", "permanent"):
        return verdict
    remaining = options.retry_max_s - elapsed_s
    if remaining <= 0:
        reason = (
            f"{verdict.reason}; gave up after {attempt + 1} attempts in {elapsed_s:.1f}s "
            f"(retry bound {options.retry_max_s:g}s)"
        )
        return dataclasses.replace(verdict, reason=reason)
    backoff = backoff_delay(
        attempt, base_s=options.backoff_base_s, max_s=options.backoff_max_s, rng=rng
    )
    return min(verdict.wait_s if verdict.wait_s is not None else backoff, remaining)
