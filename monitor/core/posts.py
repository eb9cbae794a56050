"""A post's interactions at a given age, and a creator's typical post at that age (pure).

A post's life has a shape (a burst in the first hour, then a long tail), so a post is only
comparable with the creator's other posts at the same age, never with a flat hourly rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from monitor.core.stats import median
from monitor.core.units import HOUR_MS

# The ages an alert is labelled with: a post is judged at every snapshot of its first day, and
# the label is the first of these at or above its age.
AGE_LABELS: Final = (
    (HOUR_MS, "1h"),
    (3 * HOUR_MS, "3h"),
    (6 * HOUR_MS, "6h"),
    (24 * HOUR_MS, "24h"),
)
MAX_AGE_MS: Final = 24 * HOUR_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class PostHistory:
    """One post's snapshots as ``(observed_ms, interactions)``, oldest first, none after now."""

    post_id: str
    created_ms: int
    snapshots: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Typical:
    """What the creator's typical post had at an age: the median of ``posts`` earlier posts."""

    interactions: float
    posts: int


def age_label(age_ms: int) -> str:
    return next((label for limit, label in AGE_LABELS if age_ms <= limit), AGE_LABELS[-1][1])


def interactions_at(post: PostHistory, age_ms: int) -> float | None:
    """Interactions at ``created + age``, linear between snapshots (a post starts at zero).

    Interpolated rather than the newest snapshot at or before that age: snapshots of two posts
    are rarely taken at the same ages, and the newest-before would understate the typical post
    by up to a whole snapshot interval. None when no snapshot reaches that age (the post was not
    observed that old, so it says nothing about that age).
    """
    at = post.created_ms + age_ms
    t0, v0 = post.created_ms, 0
    for t, v in post.snapshots:
        if t >= at:
            if t == t0:
                return float(v)
            return v0 + (v - v0) * (at - t0) / (t - t0)
        t0, v0 = max(t0, t), v
    return None


def typical_at(references: Sequence[PostHistory], age_ms: int) -> Typical:
    """Median over the references observed at that age: one viral post does not move it."""
    values = [v for p in references if (v := interactions_at(p, age_ms)) is not None]
    return Typical(interactions=median(values), posts=len(values))


def newest_in_first_day(post: PostHistory) -> tuple[int, int] | None:
    """``(age_ms, interactions)`` of the post's newest snapshot, if taken in its first day."""
    if not post.snapshots:
        return None
    t, v = post.snapshots[-1]
    age = t - post.created_ms
    return (age, v) if age <= MAX_AGE_MS else None
