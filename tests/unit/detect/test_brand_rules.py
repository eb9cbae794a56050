"""How a brand's rule shapes detection (pure): spike overrides, growth routing and filters."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.brands.rules import BrandRule, GrowthOverrides, SpikeOverrides
from monitor.detect.brand_rules import (
    MENTION_ROUTING_MS,
    growth_audience,
    meets_brand_growth,
    route_growth,
    spike_policy,
)
from monitor.detect.decisions import SpikePolicy
from schemas.records import Alert

NOW = 1_800_000_000_000


def rule(brand: str = "acme", **kw: Any) -> BrandRule:
    return BrandRule(brand_id=brand, name=brand.title(), terms=(brand,), **kw)


def alert(**kw: Any) -> Alert:
    fields: dict[str, Any] = {
        "alert_id": "audience_growth:ig:x:2027-01-15T08:00:00Z",
        "type": "audience_growth",
        "status": "firing",
        "severity": "warning",
        "brand": None,
        "creator_id": "ig:x",
        "community": "g",
        "window": "24h",
        "value": 1_200,
        "baseline": None,
        "score": 11.0,
        "threshold": 10.0,
        "event_time": "2027-01-15T08:00:00Z",
        "detected_at": "2027-01-15T08:00:01Z",
        "summary": "ig:x: audience +11.0% in 24 h",
        "evidence": {},
    }
    return Alert(**{**fields, **kw})


@pytest.mark.parametrize(
    ("overrides", "want"),
    [
        (None, SpikePolicy()),
        (SpikeOverrides(), SpikePolicy()),
        (SpikeOverrides(window_min=30), SpikePolicy(window_min=30)),
        (SpikeOverrides(min_count=3, threshold=1e-3), SpikePolicy(min_count=3, threshold=1e-3)),
        (SpikeOverrides(absolute_threshold=50), SpikePolicy(absolute_threshold=50)),
    ],
)
def test_spike_policy_takes_the_rules_overrides_over_the_defaults(
    overrides: SpikeOverrides | None, want: SpikePolicy
) -> None:
    got = spike_policy(None if overrides is None else rule(spike=overrides))
    assert got == want


@pytest.mark.parametrize(
    ("rec", "growth", "meets"),
    [
        (alert(), GrowthOverrides(), True),
        (alert(value=1_200), GrowthOverrides(min_abs=1_000), True),
        (alert(value=800), GrowthOverrides(min_abs=1_000), False),
        (alert(score=11.0), GrowthOverrides(min_pct=20.0), False),
        (alert(score=None), GrowthOverrides(min_pct=5.0), False),  # no percentage: not enough
        (alert(score=25.0), GrowthOverrides(min_pct=20.0, min_abs=1_000), True),
        # resolutions and band-crossing notices reach the brand whatever it asks for
        (alert(status="resolved", value=10), GrowthOverrides(min_abs=1_000), True),
        (alert(severity="info", score=None), GrowthOverrides(min_pct=20.0), True),
    ],
)
def test_brand_growth_overrides_filter_only_firing_alerts(
    rec: Alert, growth: GrowthOverrides, meets: bool
) -> None:
    assert meets_brand_growth(rec, rule(growth=growth)) is meets


@pytest.mark.parametrize(
    ("watched_by", "mentioned_ms", "want"),
    [
        ((), {}, []),
        (("acme",), {}, ["acme"]),
        ((), {"acme": NOW - MENTION_ROUTING_MS}, ["acme"]),  # the edge still counts
        ((), {"acme": NOW - MENTION_ROUTING_MS - 1}, []),
        ((), {"acme": None, "zeta": NOW}, ["zeta"]),
        (("zeta",), {"acme": NOW}, ["acme", "zeta"]),  # sorted by brand
    ],
)
def test_growth_reaches_brands_watching_or_recently_mentioned(
    watched_by: tuple[str, ...], mentioned_ms: dict[str, float | None], want: list[str]
) -> None:
    rules = {
        b: rule(b, watch_creators=("ig:x",) if b in watched_by else ()) for b in ("acme", "zeta")
    }
    assert growth_audience("ig:x", rules, mentioned_ms, NOW) == want


def test_route_growth_fans_out_growth_records_only_to_brands_whose_overrides_they_meet() -> None:
    rules = {"acme": rule("acme"), "zeta": rule("zeta", growth=GrowthOverrides(min_abs=5_000))}
    growth = alert()
    other = alert(alert_id="sentiment_shift:ig:x:t", type="sentiment_shift")
    out = route_growth([growth, other], ["acme", "zeta"], rules)
    assert [(a.alert_id, a.brand) for a in out] == [
        (growth.alert_id, None),
        (f"{growth.alert_id}:acme", "acme"),
        (other.alert_id, None),
    ]
    assert out[1].to_dict() == {**growth.to_dict(), "alert_id": out[1].alert_id, "brand": "acme"}
