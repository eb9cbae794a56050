"""Inhibition: how each record changes a brand's state, and which records are muted (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.notify.inhibit import inhibit_step
from tests.unit.notify.samples import make_alert

CRIT = "mention_spike:acme:10:00"


@pytest.mark.parametrize(
    ("state", "changes", "after", "muted"),
    [
        # no critical firing: nothing is muted, a critical starts the inhibition
        (None, {"severity": "warning"}, None, False),
        (None, {"severity": "critical", "alert_id": CRIT}, CRIT, False),
        # while it fires: warning and info repeats are muted, a critical repeat is not
        (CRIT, {"severity": "warning", "alert_id": CRIT}, CRIT, True),
        (CRIT, {"severity": "info", "alert_id": CRIT}, CRIT, True),
        (CRIT, {"severity": "critical", "alert_id": CRIT}, CRIT, False),
        # resolving the critical episode ends it; the resolved record itself goes out
        (CRIT, {"status": "resolved", "alert_id": CRIT}, None, False),
        (CRIT, {"status": "resolved", "alert_id": "mention_spike:acme:09:00"}, CRIT, False),
        # other types, and alerts without a brand, neither change it nor are muted
        (CRIT, {"type": "sentiment_shift", "severity": "warning"}, CRIT, False),
        (CRIT, {"type": "engagement_spike", "status": "resolved"}, CRIT, False),
        (None, {"brand": None, "creator_id": "tiktok:bob", "severity": "critical"}, None, False),
    ],
)
def test_a_critical_spike_mutes_the_brands_lesser_spikes_until_it_resolves(
    state: str | None, changes: dict[str, Any], after: str | None, muted: bool
) -> None:
    assert inhibit_step(state, make_alert(**changes)) == (after, muted)
