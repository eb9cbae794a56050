"""The live scenario of `monitor dev`: what a cycle plants, and the stream it is merged into."""

from __future__ import annotations

import itertools
import random
from collections import Counter

from monitor.core.units import HOUR_MS, MINUTE_MS
from monitor.sim.live import CYCLE_MS, LivePlan, live_events, make_cast, planted_cycle
from schemas.codec import dumps
from schemas.events import TOPIC_KIND, Rejection, decode_event, parse_time_ms

PLAN = LivePlan(seed=3, creators=30, history_h=2)
LIVE_MS = 1_790_000_040_000 // MINUTE_MS * MINUTE_MS


def test_a_cycle_plants_four_episodes_at_their_minutes() -> None:
    cast = make_cast(PLAN)
    events = planted_cycle(cast, 0, LIVE_MS, random.Random(1))
    assert [at - LIVE_MS for at, _ in cast.notes] == [m * MINUTE_MS for m in (1, 15, 30, 50)]
    assert "mention spike for acme" in cast.notes[0][1]
    by_topic = Counter(topic for _, topic, _ in events)
    assert by_topic == {"social.comments": 80, "social.audience": 12, "social.posts": 6}
    assert [t for t, _, _ in events] == sorted(t for t, _, _ in events)
    assert len({e["event_id"] for _, _, e in events}) == len(events)


def test_planted_events_are_valid_contract_events_at_their_time() -> None:
    cast = make_cast(PLAN)
    for t, topic, event in planted_cycle(cast, 1, LIVE_MS, random.Random(1)):
        if topic == "social.audience":
            event = {**event, "followers": 1}  # live_events() fills the count in
        decoded = decode_event(TOPIC_KIND[topic], dumps(event))
        assert not isinstance(decoded, Rejection), (event, decoded)
        assert parse_time_ms(event.get("observed_at") or event["created_at"]) == t
        assert event["platform"] == event["creator_id"].split(":")[0]


def test_the_mention_spike_names_the_cycles_brand_in_four_minutes() -> None:
    cast = make_cast(PLAN)
    events = planted_cycle(cast, 1, LIVE_MS, random.Random(1))  # cycle 1: globex
    spike = [(t, e) for t, _, e in events if e["event_id"].startswith("dev-1-c")][:40]
    assert all("#globex" in e["text"] for _, e in spike)
    at = LIVE_MS + MINUTE_MS
    assert all(at <= t < at + 4 * MINUTE_MS for t, _ in spike)


def test_live_events_send_history_first_then_grow_the_surging_creator() -> None:
    cast = make_cast(PLAN)
    stream = live_events(PLAN, LIVE_MS, cast)
    events = list(itertools.takewhile(lambda x: x[0] < LIVE_MS + CYCLE_MS, stream))
    times = [t for t, _, _ in events]
    assert times == sorted(times)
    assert times[0] >= LIVE_MS - PLAN.history_h * HOUR_MS
    assert any(t < LIVE_MS for t in times)
    assert any(t >= LIVE_MS for t in times)
    audience = [e for _, topic, e in events if topic == "social.audience"]
    assert all(e["followers"] > 0 for e in audience)
    grower = next(iter(cast.surges))
    planted = [e["followers"] for e in audience if e["event_id"].startswith("dev-0-a")]
    assert planted
    assert _grows_by_the_surge(planted)
    assert all(e["creator_id"] == grower for e in audience if e["event_id"].startswith("dev-0-a"))


def _grows_by_the_surge(counts: list[int]) -> bool:
    """Over the surge the count ends about 35 % above where it began."""
    return counts == sorted(counts) and counts[-1] > counts[0] * 1.2


def test_the_same_plan_gives_the_same_stream() -> None:
    def head() -> list[object]:
        return list(itertools.islice(live_events(PLAN, LIVE_MS, make_cast(PLAN)), 2_000))

    assert head() == head()
