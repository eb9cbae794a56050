"""The detector's Redis keys keep the strings stored state and the Lua script already use."""

from __future__ import annotations

import pytest

from monitor.store.keys import Keys

K = Keys("ns.sm:")


@pytest.mark.parametrize(
    ("key", "want"),
    [
        (K.partition_walls, "ns.sm:pwall"),
        (K.first_event, "ns.sm:first"),
        (K.dirty_creators(6_000_002), "ns.sm:dirty:6000002"),
        (K.brand_minutes("acme", 20_833), "ns.sm:b:{acme}:d:20833"),
        (K.brand_hours("acme", 20_833), "ns.sm:b:{acme}:hd:20833"),
        (K.brand_minute_evidence("acme", 30_000_000), "ns.sm:b:{acme}:ev:30000000"),
        (K.brand_mentioners("acme"), "ns.sm:b:{acme}:creators"),
        (K.detect_minute, "ns.sm:det:minute"),
        (K.detect_step, "ns.sm:det:step"),
        (K.detect_brand_spikes, "ns.sm:det:brand"),
        (K.detect_brand_sentiment, "ns.sm:det:brand_sent"),
        (K.detect_creators, "ns.sm:det:creator"),
        (K.detect_firing, "ns.sm:det:firing"),
        (K.detect_outbox, "ns.sm:det:outbox"),
        (K.detect_sent, "ns.sm:det:sent"),
    ],
)
def test_detector_key_strings_are_unchanged(key: str, want: str) -> None:
    assert key == want
