"""Detector decisions (pure): mention spikes, audience growth, sentiment shift."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.core.posts import PostHistory
from monitor.detect.decisions import (
    EngagementPolicy,
    GrowthPolicy,
    SentimentPolicy,
    SpikePolicy,
    engagement_finding,
    growth_finding,
    hour_of_week,
    prior_share,
    sentiment_finding,
    spike_finding,
    spike_learn,
)
from monitor.detect.lifecycle import Finding


def test_spike_cold_start_then_fires_on_a_burst() -> None:
    policy = SpikePolicy()
    state: dict[str, Any] = {}
    for m in range(policy.min_history_min - 1):
        state = spike_learn(state, 1 if m % 4 == 0 else 0, m, policy)
    cold = spike_finding(name="Acme", count=40, state=state, policy=policy, minute=500)
    assert not cold.active  # not enough history yet
    state = spike_learn(state, 0, 500, policy)
    hot = spike_finding(name="Acme", count=40, state=state, policy=policy, minute=501)
    assert hot.active
    assert hot.baseline == pytest.approx(15 * 0.25, rel=0.15)
    assert hot.score is not None
    assert hot.score < 1e-4
    assert "40 mentions in 15 min" in hot.summary
    quiet = spike_finding(name="Acme", count=6, state=state, policy=policy, minute=501)
    assert not quiet.active  # 6 is unusual but below min_count


def test_absolute_threshold_overrides_cold_start() -> None:
    f = spike_finding(
        name="A", count=12, state={}, policy=SpikePolicy(absolute_threshold=12), minute=0
    )
    assert f.active


def test_a_spike_does_not_teach_the_baseline() -> None:
    policy = SpikePolicy()
    state = spike_learn({}, 1, 0, policy)
    for m in range(1, 100):
        state = spike_learn(state, 1, m, policy)
    before = state["rate"]
    state = spike_learn(state, 500, 100, policy)
    # the burst is capped at 3 x rate + 1 = 4 before it is averaged in (1/101 weight here)
    assert state["rate"] == pytest.approx(before + (4 - before) / 101)


@pytest.mark.parametrize(
    ("doc", "active"),
    [
        (
            {"followers": 12_000, "growth_24h": 1_200, "growth_24h_pct": 11.1, "growth_7d": 1_300},
            True,
        ),
        (
            {"followers": 12_000, "growth_24h": 400, "growth_24h_pct": 3.4, "growth_7d": 2_000},
            False,
        ),
        (  # 4x the usual 100 a day
            {"followers": 12_000, "growth_24h": 400, "growth_24h_pct": 3.4, "growth_7d": 1_000},
            True,
        ),
        ({"followers": 5_000, "growth_24h": 450, "growth_24h_pct": 9.9, "growth_7d": 2_000}, False),
        (
            {"followers": 5_000, "growth_24h": 300, "growth_24h_pct": 6.4, "growth_7d": 330},
            True,
        ),  # 60x usual
        (
            {
                "followers": 150_000,
                "growth_24h": 30_000,
                "growth_24h_pct": 25.0,
                "growth_7d": 31_000,
            },
            False,
        ),
        ({"followers": 900, "growth_24h": 600, "growth_24h_pct": 200.0, "growth_7d": 600}, False),
        (
            {"followers": 12_000, "growth_24h": None, "growth_24h_pct": None, "growth_7d": None},
            False,
        ),
    ],
)
def test_audience_growth_rules(doc: dict[str, Any], active: bool) -> None:
    assert growth_finding({"creator_id": "ig:x", **doc}, GrowthPolicy()).active is active


@pytest.mark.parametrize(
    ("neg_now", "total_now", "neg_before", "total_before", "active"),
    [
        (15, 25, 10, 200, True),
        (15, 19, 10, 200, False),  # not enough comments to be sure
        (8, 25, 50, 200, False),  # 32 % now vs 25 % before: not a 20-point rise
        (25, 25, 0, 0, True),  # no history: the prior (25 %) stands in
    ],
)
def test_sentiment_shift(
    neg_now: int, total_now: int, neg_before: int, total_before: int, active: bool
) -> None:
    f = sentiment_finding(
        label="x",
        negative_now=neg_now,
        total_now=total_now,
        negative_before=neg_before,
        total_before=total_before,
        window="1h",
        policy=SentimentPolicy(),
    )
    assert f.active is active


def test_hour_of_week_starts_monday() -> None:
    monday = 1_800_000_000_000 - (1_800_000_000_000 % (7 * 86_400_000)) + 4 * 86_400_000
    assert hour_of_week(monday // 60_000) == 0
    assert hour_of_week(monday // 60_000 + 60 * 25) == 25


# --- engagement: a post against the creator's typical post at the same age ----------------

H = 3_600_000


def _daily(pid: str, created: int, final: int, *, upto: int | None = None) -> PostHistory:
    """An ordinary post: 40 % of its interactions in the first hour, 75 % by 6 h, all by 20 h."""
    snaps = [(created + H, final * 4 // 10), (created + 6 * H, final * 3 // 4)]
    snaps.append((created + 20 * H, final))
    cut = created + 30 * H if upto is None else upto
    return PostHistory(
        post_id=pid, created_ms=created, snapshots=tuple(s for s in snaps if s[0] <= cut)
    )


def _engagement(posts: list[PostHistory], now: int, followers: int = 20_000) -> Finding:
    doc = {"creator_id": "ig:x", "followers": followers}
    return engagement_finding(doc, posts, now, EngagementPolicy(), GrowthPolicy())


WEEK = [_daily(f"d{d}", d * 24 * H, 1_000 + 37 * d) for d in range(7)]
TODAY = 7 * 24 * H


def test_an_ordinary_first_hour_burst_is_no_spike() -> None:
    f = _engagement([*WEEK, _daily("today", TODAY, 1_100, upto=TODAY + H)], TODAY + H)
    assert not f.active
    assert f.window == "1h"
    assert f.evidence["top_posts"][0]["post_id"] == "today"


def test_a_post_fifteen_times_the_typical_fires_at_its_first_snapshot() -> None:
    viral = _daily("viral", TODAY, 15 * 1_111, upto=TODAY + H)
    f = _engagement([*WEEK, viral], TODAY + H)
    assert f.active
    assert f.value == 15 * 1_111 * 4 // 10
    assert f.baseline == 444.0  # median of the week's first hours (1111 * 0.4)
    assert f.window == "1h"
    top = f.evidence["top_posts"][0]
    assert (top["post_id"], top["age_min"], top["references"]) == ("viral", 60, 7)
    assert top["ratio"] == pytest.approx(15.0, rel=0.01)
    assert "post viral" in f.summary
    assert "15.0x" in f.summary


def test_the_typical_post_reads_only_what_was_seen_by_then() -> None:
    # the same viral post judged again at 6 h: the earlier posts at 6 h, not at 1 h
    viral = _daily("viral", TODAY, 15 * 1_111, upto=TODAY + 6 * H)
    f = _engagement([*WEEK, viral], TODAY + 6 * H)
    assert (f.active, f.window, f.baseline) == (True, "6h", 833.0)


def test_a_post_older_than_a_day_is_not_judged() -> None:
    viral = _daily("viral", TODAY, 15 * 1_111)
    assert not _engagement([*WEEK, viral], TODAY + 25 * H).active


def test_a_creator_outside_the_micro_band_is_not_judged() -> None:
    viral = _daily("viral", TODAY, 15 * 1_111, upto=TODAY + H)
    assert not _engagement([*WEEK, viral], TODAY + H, followers=500_000).active


@pytest.mark.parametrize(
    ("first_hour", "active"),
    [
        (300, False),  # the prior: 5 % of 20,000 a day, 40 % of it (400) in the first hour
        (3_000, True),
    ],
)
def test_a_creator_without_earlier_posts_falls_back_to_the_prior(
    first_hour: int, active: bool
) -> None:
    post = PostHistory(post_id="p", created_ms=TODAY, snapshots=((TODAY + H, first_hour),))
    f = _engagement([post], TODAY + H)
    assert f.active is active
    assert f.baseline == 400.0


@pytest.mark.parametrize(("age_min", "judged"), [(0, False), (9, False), (10, True)])
def test_a_snapshot_in_the_first_minutes_is_not_judged(age_min: int, judged: bool) -> None:
    # at creation the typical post has nothing: any count would be a spike
    post = PostHistory(post_id="p", created_ms=TODAY, snapshots=((TODAY + age_min * 60_000, 900),))
    f = _engagement([post], TODAY + H)
    assert bool(f.evidence) is judged
    assert f.active is judged


def test_prior_share_follows_the_shape() -> None:
    assert [prior_share(a) for a in (0, H // 2, H, 6 * H, 24 * H, 48 * H)] == [
        0.0,
        0.2,
        0.4,
        0.75,
        1.0,
        1.0,
    ]
