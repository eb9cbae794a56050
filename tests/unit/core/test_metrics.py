"""The contract's live-table metrics from bucket state: null rules, tiers, engagement, sentiment."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.metrics import (
    SORTABLE_METRICS,
    TIERS,
    CreatorState,
    PostState,
    TierBands,
    activity_metrics,
    creator_metrics,
    hourly_series,
    last_mentions,
    mentions_by_brand,
    sentiment_stats,
)
from monitor.core.sentiment import (
    NEGATIVE_MAX,
    POSITIVE_MIN,
    SCALE,
    compound,
    compound_scaled,
    label,
)
from monitor.core.units import DAY_MS, HOUR_MS, MINUTE_MS

NOW = 1_795_168_800_000 + 42 * MINUTE_MS + 17_000  # 2026-11-20T10:42:17Z
H = NOW // HOUR_MS
M = NOW // MINUTE_MS
BANDS = TierBands()


def state(**kw: Any) -> CreatorState:
    """A creator state; a ``followers`` in meta stands for the newest snapshot at or before now."""
    kw.setdefault("meta", {"platform": "instagram"})
    if "followers" in kw["meta"] and "newest" not in kw:
        kw["newest"] = (NOW - 1, int(kw["meta"]["followers"]))
    return CreatorState(creator_id="instagram:alice", **kw)


# --- tiers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (None, None),
        (0, "nano"),
        (999, "nano"),
        (1_000, "micro"),
        (99_999, "micro"),
        (100_000, "macro"),
        (999_999, "macro"),
        (1_000_000, "mega"),
        (5_000_000_000, "mega"),
    ],
)
def test_tier_bands(followers: int | None, tier: str | None) -> None:
    assert BANDS.tier(followers) == tier


def test_custom_tier_bands() -> None:
    bands = TierBands(micro_min=10, macro_min=20, mega_min=30)
    assert [bands.tier(n) for n in (9, 10, 19, 20, 29, 30)] == [
        "nano",
        "micro",
        "micro",
        "macro",
        "macro",
        "mega",
    ]


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(st.integers(0, 10**10))
def test_property_tier_is_monotone(followers: int) -> None:
    assert TIERS.index(str(BANDS.tier(followers))) <= TIERS.index(str(BANDS.tier(followers + 1)))


def test_tier_in_creator_doc() -> None:
    doc = creator_metrics(state(meta={"followers": "1000"}), NOW, BANDS)
    assert (doc["followers"], doc["tier"]) == (1000, "micro")


# --- growth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("newest", "old", "growth", "pct"),
    [
        (None, None, None, None),
        ((NOW, 1200), None, None, None),  # no snapshot that old yet: null, not 0
        (None, (NOW - DAY_MS, 1000), None, None),
        ((NOW, 1200), (NOW - DAY_MS, 1000), 200, 20.0),
        ((NOW, 900), (NOW - DAY_MS, 1000), -100, -10.0),
        ((NOW, 1000), (NOW - DAY_MS, 1000), 0, 0.0),
        ((NOW, 500), (NOW - DAY_MS, 0), 500, None),  # % of zero is undefined
        ((NOW, 1400 + 10_600), (NOW - 2 * DAY_MS, 10_600), 1_400, 13.2075),  # rounded to 4
        ((NOW, 2), (NOW - DAY_MS, 3), -1, -33.3333),
    ],
)
def test_growth_null_rules(
    newest: tuple[int, int] | None,
    old: tuple[int, int] | None,
    growth: int | None,
    pct: float | None,
) -> None:
    doc = creator_metrics(state(newest=newest, at_24h=old, at_7d=old), NOW, BANDS)
    assert (doc["growth_24h"], doc["growth_24h_pct"]) == (growth, pct)
    assert (doc["growth_7d"], doc["growth_7d_pct"]) == (growth, pct)


def test_growth_windows_are_independent() -> None:
    doc = creator_metrics(
        state(newest=(NOW, 1500), at_24h=(NOW - DAY_MS, 1200), at_7d=None), NOW, BANDS
    )
    assert (doc["growth_24h"], doc["growth_24h_pct"]) == (300, 25.0)
    assert (doc["growth_7d"], doc["growth_7d_pct"]) == (None, None)


# --- engagement --------------------------------------------------------------------------------


def post(created: int, interactions: int) -> PostState:
    return PostState(created_ms=created, observed_ms=NOW, interactions=interactions)


def test_engagement_is_the_mean_over_posts_in_the_window() -> None:
    posts = {
        "a": post(NOW - HOUR_MS, 100),
        "b": post(NOW - 2 * DAY_MS, 400),  # 7 d only
        "c": post(NOW - DAY_MS + 1, 50),  # just inside 24 h
        "d": post(NOW - DAY_MS, 70),  # just outside 24 h: (now - 24 h, now]
        "e": post(NOW - 7 * DAY_MS, 999),  # outside 7 d
        "f": post(NOW + 1, 999),  # after now: not in any window
    }
    doc = creator_metrics(state(meta={"followers": "1000"}, posts=posts), NOW, BANDS)
    assert doc["posts_24h"] == 2
    assert doc["engagement_rate_24h"] == round((100 + 50) / 1000 / 2, 6)
    assert doc["engagement_rate_7d"] == round((100 + 400 + 50 + 70) / 1000 / 4, 6)


@pytest.mark.parametrize(
    ("meta", "posts"),
    [
        ({}, {"a": post(NOW, 10)}),  # followers unknown
        ({"followers": "0"}, {"a": post(NOW, 10)}),  # divide by zero: null
        ({"followers": "1000"}, {}),  # no posts
        ({"followers": "1000"}, {"a": post(NOW - 8 * DAY_MS, 10)}),  # none in the windows
    ],
)
def test_engagement_null_rules(meta: dict[str, str], posts: dict[str, PostState]) -> None:
    doc = creator_metrics(state(meta={"platform": "x", **meta}, posts=posts), NOW, BANDS)
    assert doc["engagement_rate_24h"] is None
    assert doc["engagement_rate_7d"] is None


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(
    interactions=st.lists(st.integers(0, 10**7), min_size=1, max_size=20),
    followers=st.integers(1, 10**8),
)
def test_property_engagement_mean(interactions: list[int], followers: int) -> None:
    posts = {str(i): post(NOW - i * MINUTE_MS, n) for i, n in enumerate(interactions)}
    doc = creator_metrics(state(meta={"followers": str(followers)}, posts=posts), NOW, BANDS)
    want = sum(n / followers for n in interactions) / len(interactions)
    assert doc["engagement_rate_24h"] == pytest.approx(want, abs=1e-6)
    assert doc["posts_24h"] == len(interactions)


# --- sentiment ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scaled", "want"),
    [
        (SCALE, "positive"),
        (500, "positive"),
        (499, "neutral"),
        (0, "neutral"),
        (-499, "neutral"),
        (-500, "negative"),
        (-SCALE, "negative"),
    ],
)
def test_sentiment_label_thresholds(scaled: int, want: str) -> None:
    assert label(scaled) == want


def test_sentiment_thresholds_are_the_contracts_plus_minus_0_05() -> None:
    assert SCALE == 10_000
    assert round(0.05 * SCALE) == POSITIVE_MIN
    assert -round(0.05 * SCALE) == NEGATIVE_MAX


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("love these, ordering now!", "positive"),
        ("this looks terrible tbh", "negative"),
        ("the shop opens at nine", "neutral"),
    ],
)
def test_vader_scores_scale_exactly(text: str, want: str) -> None:
    score = compound(text)
    assert compound_scaled(text) == round(score * SCALE)
    assert compound_scaled(text) / SCALE == score  # VADER rounds to 4 decimals: nothing is lost
    assert label(compound_scaled(text)) == want


def test_sentiment_stats() -> None:
    buckets = {
        f"cm:{M}": 3,
        f"ss:{M}": 500 + 0 - 500,
        f"pos:{M}": 1,
        f"neu:{M}": 1,
        f"neg:{M}": 1,
        f"cm:{M - 1}": 1,
        f"ss:{M - 1}": 7_000,
        f"pos:{M - 1}": 1,
        f"cm:{M - 60}": 50,  # outside the hour
        f"ss:{M - 60}": -500_000,
    }
    got = sentiment_stats(buckets, range(M - 59, M + 1))
    assert got == {"mean": round(7_000 / SCALE / 4, 4), "positive": 2, "neutral": 1, "negative": 1}
    assert sentiment_stats(buckets, range(M + 1, M + 5)) == {
        "mean": None,
        "positive": 0,
        "neutral": 0,
        "negative": 0,
    }


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(scores=st.lists(st.integers(-SCALE, SCALE), min_size=0, max_size=30))
def test_property_sentiment_counts_and_mean(scores: list[int]) -> None:
    buckets: dict[str, int] = {}
    for i, s in enumerate(scores):
        minute = M - i % 60
        for field, n in (("cm", 1), ("ss", s), (label(s)[:3], 1)):
            key = f"{field}:{minute}"
            buckets[key] = buckets.get(key, 0) + n
    got = sentiment_stats(buckets, range(M - 59, M + 1))
    assert got["positive"] == sum(s >= 500 for s in scores)
    assert got["negative"] == sum(s <= -500 for s in scores)
    assert got["neutral"] == sum(-500 < s < 500 for s in scores)
    if scores:
        assert got["mean"] == round(sum(scores) / SCALE / len(scores), 4)
    else:
        assert got["mean"] is None


# --- mentions, activity, the whole doc ---------------------------------------------------------


def test_mentions_by_brand() -> None:
    buckets = {
        f"mn:acme:{H}": 2,
        f"mn:acme:{H - 23}": 1,
        f"mn:acme:{H - 24}": 100,  # outside 24 h
        f"mn:zenith:{H}": 0,  # zero counts are left out
        f"mn:a:b:{H}": 4,  # brand ids may hold ':'
        f"cm:{H}": 9,
    }
    assert mentions_by_brand(buckets, range(H - 23, H + 1)) == {"a:b": 4, "acme": 3}
    assert list(mentions_by_brand(buckets, range(H - 23, H + 1))) == ["a:b", "acme"]


def test_activity_metrics_windows() -> None:
    hours = {
        f"int:{H}": 10,
        f"int:{H - 23}": 5,
        f"int:{H - 24}": 1_000,
        f"cm:{H}": 4,
        f"cm:{H - 5}": 2,
        f"ss:{H}": 4_000,
        f"pos:{H}": 4,
        f"neu:{H - 5}": 2,
        f"mn:acme:{H - 1}": 3,
    }
    minutes = {
        f"int:{M}": 3,
        f"int:{M - 59}": 2,
        f"int:{M - 60}": 500,
        f"cm:{M}": 1,
        f"cm:{M - 60}": 9,
        f"ss:{M}": -600,
        f"neg:{M}": 1,
    }
    got = activity_metrics(hours, minutes, NOW)
    assert got == {
        "interactions_1h": 5,
        "interactions_24h": 15,
        "comments_1h": 1,
        "comments_24h": 6,
        "sentiment_1h": -0.06,
        "sentiment_1h_counts": {"positive": 0, "neutral": 0, "negative": 1},
        "sentiment_24h": round(4_000 / SCALE / 6, 4),
        "sentiment_24h_counts": {"positive": 4, "neutral": 2, "negative": 0},
        "mentions_24h": {"acme": 3},
    }


def test_unknown_values_are_null_and_counts_zero() -> None:
    doc = creator_metrics(state(), NOW, BANDS)
    for metric in (
        "followers",
        "tier",
        "growth_24h",
        "growth_24h_pct",
        "growth_7d",
        "growth_7d_pct",
        "engagement_rate_24h",
        "engagement_rate_7d",
        "sentiment_1h",
        "sentiment_24h",
        "community",
    ):
        assert doc[metric] is None, metric
    for metric in ("posts_24h", "comments_1h", "comments_24h", "interactions_1h", "late"):
        assert doc[metric] == 0, metric
    assert doc["mentions_24h"] == {}


def test_creator_doc_has_every_contract_metric() -> None:
    doc = creator_metrics(
        state(meta={"platform": "instagram", "community": "vegan", "followers": "1", "late": "2"}),
        NOW,
        BANDS,
    )
    assert set(SORTABLE_METRICS) <= set(doc)
    assert {"creator_id", "platform", "community", "tier", "mentions_24h"} <= set(doc)
    assert (doc["community"], doc["late"], doc["as_of_ms"]) == ("vegan", 2, NOW)
    assert state().known is True
    assert CreatorState(creator_id="x").known is False


def test_hourly_series() -> None:
    hours = {f"int:{H}": 5, f"cm:{H}": 2, f"ss:{H}": 3_000, f"cm:{H - 2}": 1}
    series = hourly_series(hours, NOW, 3)
    assert series == [
        {"t_ms": (H - 2) * HOUR_MS, "interactions": 0, "comments": 1, "sentiment": 0.0},
        {"t_ms": (H - 1) * HOUR_MS, "interactions": 0, "comments": 0, "sentiment": None},
        {"t_ms": H * HOUR_MS, "interactions": 5, "comments": 2, "sentiment": 0.15},
    ]


@pytest.mark.parametrize(
    ("hours", "minutes", "expected"),
    [
        ({}, {}, {}),
        # an earlier hour counts to its last millisecond; now's hour only from its minutes
        ({"mn:acme:9": 2, "mn:acme:10": 5}, {}, {"acme": 10 * 3_600_000 - 1}),
        ({}, {"mn:acme:600": 1, "mn:acme:610": 1}, {"acme": 601 * 60_000 - 1}),  # 610 is later
        ({"mn:acme:8": 1, "cm:9": 3, "mn:globex:9": 0}, {}, {"acme": 9 * 3_600_000 - 1}),
    ],
)
def test_last_mentions_know_only_what_was_before_now(
    hours: dict[str, int], minutes: dict[str, int], expected: dict[str, int]
) -> None:
    now = 10 * 3_600_000 + 5 * 60_000 + 59_999  # 10:05:59.999, minute 605 of hour 10
    assert last_mentions(hours, minutes, now) == expected
