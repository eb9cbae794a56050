"""One creator's detector step (pure): the three detectors and the micro band crossing."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.core.metrics import History
from monitor.detect.creators import CreatorPolicies, any_firing, band_crossing, judge_creator
from monitor.detect.decisions import GrowthPolicy
from monitor.detect.lifecycle import Lifecycle
from schemas.events import format_time_ms

NOW = 1_800_000_000_000 - 1  # a step's last millisecond
POLICIES = CreatorPolicies(growth=GrowthPolicy(), life=Lifecycle())


def doc(**kw: Any) -> dict[str, Any]:
    quiet: dict[str, Any] = {
        "creator_id": "ig:x",
        "community": "g",
        "followers": 12_000,
        "tier": "micro",
        "growth_24h": 10,
        "growth_24h_pct": 0.1,
        "growth_7d": 70,
        "interactions_1h": 0,
        "sentiment_1h_counts": {"negative": 0, "neutral": 0, "positive": 0},
    }
    return {**quiet, **kw}


@pytest.mark.parametrize(
    ("prev", "tier", "summary"),
    [
        (None, "micro", None),  # first sight: no crossing
        ("micro", None, None),
        ("micro", "micro", None),
        ("nano", "macro", None),  # jumped over the band: still outside it
        ("nano", "micro", "ig:x moved into the micro band (nano → micro, 12,000 followers)"),
        ("micro", "macro", "ig:x moved out of the micro band (micro → macro, 12,000 followers)"),
    ],
)
def test_band_crossing_is_an_info_record_only_when_micro_changes(
    prev: str | None, tier: str | None, summary: str | None
) -> None:
    rec = band_crossing(doc(tier=tier), prev, at_ms=NOW + 1, detected_at="d")
    assert (rec and rec.summary) == summary
    if rec is not None:
        at = format_time_ms(NOW + 1)
        assert rec.alert_id == f"audience_growth:ig:x:band:{at}"
        assert (rec.type, rec.status, rec.severity, rec.event_time) == (
            "audience_growth",
            "firing",
            "info",
            at,
        )
        assert rec.evidence == {"from": prev, "to": tier}


def test_a_quiet_creator_emits_nothing_and_remembers_its_tier() -> None:
    out, st = judge_creator(
        doc(), History(), [], {}, now_ms=NOW, detected_at="d", policies=POLICIES
    )
    assert out == []
    assert st == {
        "audience_growth": {},
        "sentiment_shift": {},
        "engagement_spike": {},
        "tier": "micro",
    }
    assert not any_firing(st)


def test_growth_fires_once_then_the_band_crossing_follows_in_order() -> None:
    growing = doc(growth_24h=1_200, growth_24h_pct=11.1, growth_7d=1_300)
    out, st = judge_creator(
        growing, History(), [], {"tier": "nano"}, now_ms=NOW, detected_at="d", policies=POLICIES
    )
    at = format_time_ms(NOW + 1)
    assert [(a.alert_id, a.severity) for a in out] == [
        (f"audience_growth:ig:x:{at}", "warning"),
        (f"audience_growth:ig:x:band:{at}", "info"),
    ]
    assert any_firing(st)
    again, st = judge_creator(
        growing, History(), [], st, now_ms=NOW + 300_000, detected_at="d", policies=POLICIES
    )
    assert again == []  # one record per episode
    assert st["audience_growth"]["alert_id"] == f"audience_growth:ig:x:{at}"


def test_a_negative_hour_fires_sentiment_shift_against_the_history() -> None:
    angry = doc(sentiment_1h_counts={"negative": 15, "neutral": 5, "positive": 5})
    out, st = judge_creator(
        angry,
        History(negative=10, comments=200),
        [],
        {},
        now_ms=NOW,
        detected_at="d",
        policies=POLICIES,
    )
    assert [(a.type, a.creator_id, a.community) for a in out] == [("sentiment_shift", "ig:x", "g")]
    assert st["sentiment_shift"]["phase"] == "firing"
