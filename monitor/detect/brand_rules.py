"""How a brand's rule shapes detection (pure): its spike thresholds, the growth alerts it gets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from monitor.brands.rules import BrandRule
from monitor.core.units import DAY_MS
from monitor.detect.decisions import SpikePolicy
from schemas.records import Alert

# A creator who mentioned a brand within this long is one the brand cares about.
MENTION_ROUTING_MS: Final = 30 * DAY_MS


def spike_policy(rule: BrandRule | None) -> SpikePolicy:
    """The defaults, with whatever the brand's ``[spike]`` table overrides."""
    base = SpikePolicy()
    if rule is None:
        return base
    o = rule.spike
    return SpikePolicy(
        window_min=o.window_min or base.window_min,
        min_count=o.min_count or base.min_count,
        threshold=o.threshold or base.threshold,
        absolute_threshold=o.absolute_threshold,
    )


def growth_audience(
    creator_id: str,
    rules: Mapping[str, BrandRule],
    last_mentioned_ms: Mapping[str, float | None],
    now_ms: int,
) -> list[str]:
    """Brands (sorted) watching the creator or mentioned by it within ``MENTION_ROUTING_MS``.

    ``last_mentioned_ms``: brand -> newest event time the creator mentioned it (None: never).
    """
    since = now_ms - MENTION_ROUTING_MS
    audience = []
    for b in sorted(rules):
        mentioned = last_mentioned_ms.get(b)
        if creator_id in rules[b].watch_creators or (mentioned is not None and mentioned >= since):
            audience.append(b)
    return audience


def meets_brand_growth(rec: Alert, rule: BrandRule) -> bool:
    """A brand may ask for more growth than the defaults before it hears of a firing alert."""
    o = rule.growth
    if rec.status != "firing" or rec.severity == "info":
        return True
    if o.min_abs is not None and rec.value < o.min_abs:
        return False
    return not (o.min_pct is not None and (rec.score or 0.0) < o.min_pct)


def route_growth(
    records: Sequence[Alert], brands: Sequence[str], rules: Mapping[str, BrandRule]
) -> list[Alert]:
    """Every record for the feed, each audience_growth one followed by a copy per brand in
    ``brands`` whose overrides it meets (``alert_id`` suffixed ``:<brand>``)."""
    out: list[Alert] = []
    for rec in records:
        out.append(rec)
        if rec.type != "audience_growth":
            continue
        out.extend(
            Alert(**{**rec.to_dict(), "brand": b, "alert_id": f"{rec.alert_id}:{b}"})
            for b in brands
            if meets_brand_growth(rec, rules[b])
        )
    return out
