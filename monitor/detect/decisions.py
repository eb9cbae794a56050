"""Detector decisions (pure).

Each detector turns numbers into a ``Finding``: is the condition true now, how bad, with what
evidence. ``monitor.detect.lifecycle.advance`` turns runs of findings into alert records.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from monitor.core.posts import MAX_AGE_MS, PostHistory, age_label, newest_in_first_day, typical_at
from monitor.core.stats import (
    alpha_for_half_life,
    binomial_sf,
    ewma,
    negbin_sf,
    poisson_sf,
    seasonal_factor,
)
from monitor.core.units import HOUR_MS, MINUTE_MS
from monitor.detect.lifecycle import Finding
from schemas.records import Severity

HOURS_PER_WEEK: Final = 168


# --- mention spikes -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikePolicy:
    window_min: int = 15
    min_count: int = 10
    threshold: float = 1e-4
    min_history_min: int = 6 * 60
    half_life_min: float = 12 * 60
    absolute_threshold: int | None = None
    critical_threshold: float = 1e-8
    seasonal_history_min: int = 14 * 24 * 60


def spike_finding(
    *, name: str, count: int, state: dict[str, Any], policy: SpikePolicy, minute: int
) -> Finding:
    """Mentions in the window against the brand's own history (EWMA x hour-of-week season)."""
    window = f"{policy.window_min}m"
    history = int(state.get("history", 0))
    rate = float(state.get("rate", 0.0))
    expected = rate * policy.window_min
    if history >= policy.seasonal_history_min:
        expected *= seasonal_factor(state.get("profile") or [], hour_of_week(minute))
    expected = max(expected, 0.5)
    score = poisson_sf(count, expected)
    if policy.absolute_threshold is not None and count >= policy.absolute_threshold:
        active = True
    elif history < policy.min_history_min:
        active = False  # cold start: not enough history to know what is usual
    else:
        active = count >= policy.min_count and score < policy.threshold
    severity: Severity = "critical" if active and score < policy.critical_threshold else "warning"
    ratio = count / expected
    return Finding(
        active=active,
        severity=severity,
        value=count,
        baseline=round(expected, 3),
        score=score,
        threshold=policy.threshold,
        window=window,
        summary=f"{name}: {count} mentions in {policy.window_min} min, "
        f"{ratio:.1f}x the usual {expected:.1f}",
    )


def spike_learn(
    state: dict[str, Any], minute_count: int, minute: int, policy: SpikePolicy
) -> dict[str, Any]:
    """Fold one judged minute into the baseline; spikes are capped so they don't teach the norm."""
    rate = state.get("rate")
    capped = minute_count if rate is None else min(minute_count, 3 * rate + 1)
    # a plain running mean until the history is as long as the half-life: an EWMA started from
    # its first value would carry that one minute's weight for hours
    history = int(state.get("history", 0))
    alpha = max(alpha_for_half_life(policy.half_life_min), 1.0 / (history + 1))
    new_rate = ewma(rate, capped, alpha)
    profile = list(state.get("profile") or [0.0] * HOURS_PER_WEEK)
    slot = hour_of_week(minute)
    profile[slot] = ewma(profile[slot] or None, capped, alpha_for_half_life(4 * 60))
    return {
        **state,
        "rate": new_rate,
        "history": history + 1,
        "profile": profile,
    }


def spike_public_state(
    *, name: str, state: dict[str, Any], policy: SpikePolicy, minute: int
) -> dict[str, str]:
    """The public face of the baseline, for the web view's band: what ``minute`` would expect."""
    expected = spike_finding(name=name, count=0, state=state, policy=policy, minute=minute).baseline
    return {
        "baseline": str(expected),
        "window_min": str(policy.window_min),
        "updated_ms": str(minute * MINUTE_MS),
    }


def hour_of_week(minute: int) -> int:
    # epoch minute 0 was a Thursday; slot 0 = Monday 00:00 UTC
    return ((minute // 60) + 72) % HOURS_PER_WEEK


# --- creators -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class GrowthPolicy:
    min_pct: float = 10.0
    min_abs: int = 500
    usual_multiple: float = 4.0
    micro_min: int = 1_000
    micro_max: int = 100_000

    def is_micro(self, followers: int | None) -> bool:
        return followers is not None and self.micro_min <= followers < self.micro_max


def growth_finding(doc: dict[str, Any], policy: GrowthPolicy) -> Finding:
    """Micro creator whose followers grew >= min_pct and >= min_abs in 24 h, or far above usual."""
    followers, g24, g24p, g7 = (
        doc.get(k) for k in ("followers", "growth_24h", "growth_24h_pct", "growth_7d")
    )
    micro = policy.is_micro(followers)
    if not micro or g24 is None:
        return Finding(active=False, value=g24 or 0, window="24h")
    usual = None if g7 is None else max(0.0, (g7 - g24) / 6)
    big = g24 >= policy.min_abs and (g24p or 0) >= policy.min_pct
    unusual = (
        usual is not None
        and usual > 0
        and g24 >= policy.usual_multiple * usual
        and g24 >= policy.min_abs / 2
    )
    active = big or unusual
    severity: Severity = "critical" if big and (g24p or 0) >= 3 * policy.min_pct else "warning"
    why = f"+{g24p:.1f}% in 24 h" if g24p is not None else f"+{g24} in 24 h"
    usual_txt = f", usual {usual:.0f}/day" if usual else ""
    return Finding(
        active=active,
        severity=severity,
        value=g24,
        baseline=None if usual is None else round(usual, 2),
        score=g24p,
        threshold=policy.min_pct,
        window="24h",
        summary=f"{doc['creator_id']}: audience {why} "
        f"({g24:+,} to {followers:,} followers{usual_txt})",
        evidence={
            "followers": followers,
            "growth_24h": g24,
            "growth_24h_pct": g24p,
            "growth_7d": g7,
        },
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SentimentPolicy:
    min_comments: int = 20
    min_share_rise: float = 0.2
    threshold: float = 1e-3
    floor_share: float = 0.02
    # A community with little history is not assumed to be all sunshine: its baseline share is
    # shrunk toward a typical share, as if it had prior_weight comments at prior_share negative.
    prior_share: float = 0.25
    prior_weight: float = 20.0


def sentiment_finding(
    *,
    label: str,
    negative_now: int,
    total_now: int,
    negative_before: int,
    total_before: int,
    window: str,
    policy: SentimentPolicy,
) -> Finding:
    """Share of negative items now vs before, judged with a binomial upper tail."""
    shrunk = (negative_before + policy.prior_share * policy.prior_weight) / (
        total_before + policy.prior_weight
    )
    base = max(policy.floor_share, shrunk)
    share = negative_now / total_now if total_now else 0.0
    score = binomial_sf(negative_now, total_now, base) if total_now else 1.0
    active = (
        total_now >= policy.min_comments
        and share - base >= policy.min_share_rise
        and score < policy.threshold
    )
    severity: Severity = "critical" if active and share >= 0.6 else "warning"
    return Finding(
        active=active,
        severity=severity,
        value=round(share, 4),
        baseline=round(base, 4),
        score=score,
        threshold=policy.threshold,
        window=window,
        summary=f"{label}: {share:.0%} negative in {window} "
        f"({negative_now}/{total_now}), usually {base:.0%}",
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class EngagementPolicy:
    """A post against the creator's typical post at the same age.

    The tail is negative binomial, not Poisson: a creator's posts differ by far more than
    counting noise (``size`` 3 means a typical spread of about 60 % around the median post).
    """

    min_interactions: int = 200
    multiple: float = 5.0
    threshold: float = 1e-5
    size: float = 3.0
    reference_posts: int = 10
    min_reference: int = 3
    # A snapshot taken in the post's first minutes is not judged: the typical post (and the
    # prior) has next to nothing at that age, so any count would look like a spike.
    min_age_ms: int = 10 * MINUTE_MS
    # Fallback with fewer than min_reference earlier posts seen at that age: a typical post is
    # taken to reach prior_rate of the followers in a day, along PRIOR_SHAPE; the median of the
    # posts there are counts only where it is higher (a new creator is not assumed to be small).
    prior_rate: float = 0.05


# Share of a day's interactions an ordinary post has at each age (linear in between): a burst
# of 40 % in the first hour, three quarters by six hours.
PRIOR_SHAPE: Final = ((0, 0.0), (HOUR_MS, 0.4), (6 * HOUR_MS, 0.75), (24 * HOUR_MS, 1.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class PostVerdict:
    post_id: str
    age_ms: int
    interactions: int
    typical: float
    references: int
    score: float

    @property
    def ratio(self) -> float:
        return self.interactions / max(self.typical, 1.0)

    def evidence(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "age_min": self.age_ms // MINUTE_MS,
            "interactions": self.interactions,
            "typical": round(self.typical, 2),
            "ratio": round(self.ratio, 2),
            "references": self.references,
        }


def prior_share(age_ms: int) -> float:
    for (a0, s0), (a1, s1) in itertools.pairwise(PRIOR_SHAPE):
        if age_ms <= a1:
            return s0 + (s1 - s0) * max(0, age_ms - a0) / (a1 - a0)
    return PRIOR_SHAPE[-1][1]


def judge_post(
    post: PostHistory,
    earlier: Sequence[PostHistory],
    followers: int,
    policy: EngagementPolicy,
) -> PostVerdict | None:
    """The post at its newest snapshot against the typical earlier post at that age."""
    newest = newest_in_first_day(post)
    if newest is None:
        return None
    age, value = newest
    if age < policy.min_age_ms:
        return None
    typical = typical_at(earlier[-policy.reference_posts :], age)
    expected = typical.interactions
    if typical.posts < policy.min_reference:
        expected = max(expected, followers * policy.prior_rate * prior_share(age))
    return PostVerdict(
        post_id=post.post_id,
        age_ms=age,
        interactions=value,
        typical=expected,
        references=typical.posts,
        score=negbin_sf(value, max(expected, 1.0), policy.size),
    )


def engagement_finding(
    doc: dict[str, Any],
    posts: Sequence[PostHistory],
    now_ms: int,
    policy: EngagementPolicy,
    micro: GrowthPolicy,
) -> Finding:
    """Micro creator with a post in its first day far above its typical post at the same age.

    ``posts``: the creator's newest posts created at or before now, oldest first, snapshots up
    to now only. Each post of the last 24 h is judged against the posts before it.
    """
    followers = doc.get("followers")
    if followers is None or not micro.is_micro(followers):
        return Finding(active=False, window="1h")
    verdicts = [
        v
        for i, p in enumerate(posts)
        if p.created_ms > now_ms - MAX_AGE_MS
        and (v := judge_post(p, posts[:i], followers, policy)) is not None
    ]
    if not verdicts:
        return Finding(active=False, window="1h")
    verdicts.sort(key=lambda v: (v.score, -v.ratio, v.post_id))
    spikes = [
        v
        for v in verdicts
        if v.interactions >= policy.min_interactions
        and v.ratio >= policy.multiple
        and v.score < policy.threshold
    ]
    top = spikes[0] if spikes else verdicts[0]
    return Finding(
        active=bool(spikes),
        severity="warning",
        value=top.interactions,
        baseline=round(top.typical, 2),
        score=top.score,
        threshold=policy.threshold,
        window=age_label(top.age_ms),
        summary=f"{doc['creator_id']}: post {top.post_id} has {top.interactions:,} interactions "
        f"at {top.age_ms // MINUTE_MS} min, {top.ratio:.1f}x the creator's typical post at "
        f"that age ({top.typical:.0f})",
        evidence={"top_posts": [v.evidence() for v in (spikes or verdicts)[:3]]},
    )
