"""The contract's live-table metrics, computed from bucket state (pure).

Everything is relative to ``now`` (the watermark) at read time, so the tables never depend on the
order events arrived in, only on which events arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from monitor.core.sentiment import SCALE
from monitor.core.units import DAY_MS, HOUR_MS, MINUTE_MS
from monitor.core.windows import (
    hour_window,
    in_window,
    minute_window,
    window_sum,
)

if TYPE_CHECKING:  # annotations only: the maths stays free of the settings loader
    from monitor.settings import Settings

# Numeric metrics a leaderboard can sort by (the contract's "any numeric metric").
SORTABLE_METRICS: Final = (
    "followers",
    "growth_24h",
    "growth_24h_pct",
    "growth_7d",
    "growth_7d_pct",
    "interactions_1h",
    "interactions_24h",
    "engagement_rate_24h",
    "engagement_rate_7d",
    "posts_24h",
    "comments_1h",
    "comments_24h",
    "sentiment_1h",
    "sentiment_24h",
)
DEFAULT_SORT: Final = "growth_24h_pct"
TIERS: Final = ("nano", "micro", "macro", "mega")


@dataclass(frozen=True, slots=True, kw_only=True)
class TierBands:
    micro_min: int = 1_000
    macro_min: int = 100_000
    mega_min: int = 1_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> TierBands:
        """The bands configured (``tier_*_min``): the one place they are read."""
        return cls(
            micro_min=settings.tier_micro_min,
            macro_min=settings.tier_macro_min,
            mega_min=settings.tier_mega_min,
        )

    def tier(self, followers: int | None) -> str | None:
        if followers is None:
            return None
        if followers < self.micro_min:
            return "nano"
        if followers < self.macro_min:
            return "micro"
        if followers < self.mega_min:
            return "macro"
        return "mega"


@dataclass(frozen=True, slots=True, kw_only=True)
class PostState:
    created_ms: int
    observed_ms: int
    interactions: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PostWindows:
    """Posts created in the last 24 h and 7 d: how many, their interactions, the oldest one."""

    count_24h: int = 0
    interactions_24h: int = 0
    oldest_24h: int | None = None  # created_ms
    count_7d: int = 0
    interactions_7d: int = 0
    oldest_7d: int | None = None


def post_windows(posts: Iterable[PostState], now_ms: int) -> PostWindows:
    """What the metrics use of a creator's posts (Redis computes the same: creator_states.lua)."""
    c24 = i24 = c7 = i7 = 0
    o24: int | None = None
    o7: int | None = None
    for p in posts:
        if in_window(p.created_ms, now_ms, 7 * DAY_MS):
            c7, i7 = c7 + 1, i7 + p.interactions
            o7 = p.created_ms if o7 is None else min(o7, p.created_ms)
            if in_window(p.created_ms, now_ms, DAY_MS):
                c24, i24 = c24 + 1, i24 + p.interactions
                o24 = p.created_ms if o24 is None else min(o24, p.created_ms)
    return PostWindows(
        count_24h=c24,
        interactions_24h=i24,
        oldest_24h=o24,
        count_7d=c7,
        interactions_7d=i7,
        oldest_7d=o7,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class History:
    """Hour-bucket sums the sentiment detector weighs the last hour against (summed by Redis).

    Both cover ``history_hours(now)``: the 24 whole hours before the last hour.
    """

    negative: int = 0
    comments: int = 0


@dataclass(slots=True, kw_only=True)
class CreatorState:
    """What Redis holds for one creator, already narrowed to the windows we need."""

    creator_id: str
    meta: Mapping[str, str] = field(default_factory=dict)
    newest: tuple[int, int] | None = None  # (observed_ms, followers)
    at_24h: tuple[int, int] | None = None  # newest snapshot at or before now - 24 h
    at_7d: tuple[int, int] | None = None
    # times of the oldest snapshots after now - 24 h and now - 7 d: when they age into at_24h/at_7d
    after_24h: int | None = None
    after_7d: int | None = None
    posts: Mapping[str, PostState] = field(default_factory=dict)
    # set instead of ``posts`` when Redis summed them at the read's ``now``
    post_sums: PostWindows | None = None
    hours: Mapping[str, int] = field(default_factory=dict)
    minutes: Mapping[str, int] = field(default_factory=dict)
    history: History | None = None  # read only for the detectors

    @property
    def known(self) -> bool:
        return bool(self.meta) or self.newest is not None


def _growth(
    newest: tuple[int, int] | None, old: tuple[int, int] | None
) -> tuple[int | None, float | None]:
    if newest is None or old is None:
        return None, None
    delta = newest[1] - old[1]
    pct = None if old[1] == 0 else round(delta * 100.0 / old[1], 4)
    return delta, pct


def _engagement(count: int, interactions: int, followers: int | None) -> float | None:
    if not count or not followers:
        return None
    return round(interactions / followers / count, 6)


def _post_windows(state: CreatorState, now_ms: int) -> PostWindows:
    return state.post_sums or post_windows(state.posts.values(), now_ms)


def sentiment_stats(buckets: Mapping[str, int], indices: range) -> dict[str, Any]:
    count = window_sum(buckets, "cm", indices)
    total = window_sum(buckets, "ss", indices)
    return {
        "mean": None if count == 0 else round(total / SCALE / count, 4),
        "positive": window_sum(buckets, "pos", indices),
        "neutral": window_sum(buckets, "neu", indices),
        "negative": window_sum(buckets, "neg", indices),
    }


def mentions_by_brand(buckets: Mapping[str, int], indices: range) -> dict[str, int]:
    out: dict[str, int] = {}
    for brand, idx, n in _mention_buckets(buckets):
        if idx in indices:
            out[brand] = out.get(brand, 0) + n
    return dict(sorted(out.items()))


def last_mentions(
    hours: Mapping[str, int], minutes: Mapping[str, int], now_ms: int
) -> dict[str, int]:
    """Brand -> latest time at or before now the creator mentioned it (to its bucket's end).

    Hour buckets before now's hour, minute buckets within it: what a detector judging a past
    step may know, however far ingest has run on (the brand's newest-mention set would not).
    """
    now_hour = now_ms // HOUR_MS
    out: dict[str, int] = {}
    for brand, h, _ in _mention_buckets(hours):
        if h < now_hour:
            out[brand] = max(out.get(brand, 0), (h + 1) * HOUR_MS - 1)
    for brand, m, _ in _mention_buckets(minutes):
        if m * MINUTE_MS // HOUR_MS == now_hour and m * MINUTE_MS <= now_ms:
            out[brand] = max(out.get(brand, 0), min((m + 1) * MINUTE_MS - 1, now_ms))
    return out


def _mention_buckets(buckets: Mapping[str, int]) -> Iterator[tuple[str, int, int]]:
    """``(brand, bucket index, count)`` of every non-empty ``mn:<brand>:<index>`` field."""
    for name, n in buckets.items():
        if name.startswith("mn:") and n:
            brand, _, idx = name[3:].rpartition(":")
            yield brand, int(idx), n


def activity_metrics(
    hours: Mapping[str, int], minutes: Mapping[str, int], now_ms: int
) -> dict[str, Any]:
    """Bucketed metrics shared by creators and communities."""
    h24, m60 = hour_window(now_ms, 24), minute_window(now_ms, 60)
    s1, s24 = sentiment_stats(minutes, m60), sentiment_stats(hours, h24)
    return {
        "interactions_1h": window_sum(minutes, "int", m60),
        "interactions_24h": window_sum(hours, "int", h24),
        "comments_1h": window_sum(minutes, "cm", m60),
        "comments_24h": window_sum(hours, "cm", h24),
        "sentiment_1h": s1.pop("mean"),
        "sentiment_1h_counts": s1,
        "sentiment_24h": s24.pop("mean"),
        "sentiment_24h_counts": s24,
        "mentions_24h": mentions_by_brand(hours, h24),
    }


def creator_metrics(state: CreatorState, now_ms: int, bands: TierBands) -> dict[str, Any]:
    """All contract metrics for one creator at ``now``; None where a metric has no value yet."""
    meta = state.meta
    # the newest snapshot at or before now: a detector judging a past step must not see later ones
    followers = state.newest[1] if state.newest is not None else None
    g24, g24p = _growth(state.newest, state.at_24h)
    g7, g7p = _growth(state.newest, state.at_7d)
    pw = _post_windows(state, now_ms)
    return {
        "creator_id": state.creator_id,
        "platform": meta.get("platform"),
        "community": meta.get("community"),
        "followers": followers,
        "tier": bands.tier(followers),
        "growth_24h": g24,
        "growth_24h_pct": g24p,
        "growth_7d": g7,
        "growth_7d_pct": g7p,
        "engagement_rate_24h": _engagement(pw.count_24h, pw.interactions_24h, followers),
        "engagement_rate_7d": _engagement(pw.count_7d, pw.interactions_7d, followers),
        "posts_24h": pw.count_24h,
        **activity_metrics(state.hours, state.minutes, now_ms),
        "late": int(meta.get("late", 0)),
        "as_of_ms": now_ms,
    }


def _oldest_bucket(buckets: Mapping[str, int], window: range) -> int | None:
    lo, hi = window.start, window.stop
    oldest = None
    for name in buckets:
        idx = int(name.rpartition(":")[2])
        if lo <= idx < hi and (oldest is None or idx < oldest):
            oldest = idx
    return oldest


def next_change_ms(state: CreatorState, now_ms: int, retention_ms: int) -> int | None:
    """The first watermark after ``now`` at which this creator's metrics differ with no new event.

    Windows slide with the watermark: a bucket, post or snapshot leaves one (or a snapshot ages
    into the 24 h / 7 d reference) at a time known in advance. Leaderboards re-compute a creator
    only then (or when its state changes) instead of every creator whenever the watermark moves.
    None: nothing in the state will ever change the metrics by itself.
    """
    times: list[int] = []
    minute = _oldest_bucket(state.minutes, minute_window(now_ms, 60))
    if minute is not None:
        times.append((minute + 60) * MINUTE_MS)
    hour = _oldest_bucket(state.hours, hour_window(now_ms, 24))
    if hour is not None:
        times.append((hour + 24) * HOUR_MS)
    pw = _post_windows(state, now_ms)
    if pw.oldest_24h is not None:
        times.append(pw.oldest_24h + DAY_MS)
    if pw.oldest_7d is not None:
        times.append(pw.oldest_7d + 7 * DAY_MS)
    if state.after_24h is not None:
        times.append(state.after_24h + DAY_MS)
    if state.after_7d is not None:
        times.append(state.after_7d + 7 * DAY_MS)
    for snap in (state.newest, state.at_24h, state.at_7d):
        if snap is not None:  # falls below the retention horizon
            times.append(snap[0] + retention_ms + 1)
    later = [t for t in times if t > now_ms]
    return min(later) if later else None


def hourly_series(hours: Mapping[str, int], now_ms: int, count: int) -> list[dict[str, Any]]:
    """Per-hour interactions, comments and mean sentiment for the detail views."""
    out = []
    for h in hour_window(now_ms, count):
        cm = hours.get(f"cm:{h}", 0)
        ss = hours.get(f"ss:{h}", 0)
        out.append(
            {
                "t_ms": h * HOUR_MS,
                "interactions": hours.get(f"int:{h}", 0),
                "comments": cm,
                "sentiment": None if cm == 0 else round(ss / SCALE / cm, 4),
            }
        )
    return out
