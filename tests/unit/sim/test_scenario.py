"""The standard scenario: valid events in time order, the planted truth and its decoys."""

from __future__ import annotations

from collections import Counter

import pytest

from monitor.sim.scenario import standard, truth_json
from monitor.sim.traffic import Traffic, generate
from schemas.codec import dumps
from schemas.events import TOPIC_KIND, Rejection, decode_event

SMALL = {"seed": 3, "hours": 30, "creators": 40}


def _time(event: dict[str, str]) -> str:
    return event.get("observed_at") or event["created_at"]


def test_every_event_is_a_valid_contract_event_in_time_order() -> None:
    sc = standard(**SMALL)
    for topic, event in sc.events:
        assert not isinstance(decode_event(TOPIC_KIND[topic], dumps(event)), Rejection), event
    times = [_time(e) for _, e in sc.events]
    assert times == sorted(times)
    assert len({e["event_id"] for _, e in sc.events}) == len(sc.events)


def test_the_truth_names_each_detector_and_the_decoys_are_apart() -> None:
    sc = standard()
    assert Counter(t.type for t in sc.truth) == {
        "mention_spike": 2,
        "audience_growth": 1,
        "sentiment_shift": 1,
        "engagement_spike": 1,
    }
    assert [d.label for d in sc.decoys[:2]] == [
        "excluded phrase burst",
        "growth of " + sc.decoys[1].subject,
    ]
    daily = sc.decoys[2:]
    assert {d.label for d in daily} == {"ordinary daily post"}
    assert len({d.subject for d in daily}) == 10
    assert 10 < len(daily) <= 20  # 36 hours: a second post where its first hour fits
    # planted in the last 12 of the 36 hours, after enough history for the baselines
    starts = [row["start"] for row in truth_json(sc)["planted"]]
    assert all("2026-11-11T00:00:00Z" <= s < "2026-11-11T12:00:00Z" for s in starts)


def test_a_daily_post_gets_the_usual_shape_of_its_final_count() -> None:
    sc = standard(**SMALL)
    post = next(
        e["post_id"] for _, e in sc.events if str(e.get("creator_id", "")).endswith("daily00001")
    )
    snaps = [
        e["likes"] + e["comments"] + e["shares"]
        for _, e in sc.events
        if e.get("post_id") == post and "observed_at" in e
    ]
    assert len(snaps) == 3
    assert snaps[0] / snaps[2] == pytest.approx(0.4, abs=0.01)
    assert snaps[1] / snaps[2] == pytest.approx(0.75, abs=0.01)


def test_a_seed_gives_one_stream() -> None:
    assert standard(**SMALL).events == standard(**SMALL).events
    assert standard(**SMALL).events != standard(**{**SMALL, "seed": 4}).events


def test_traffic_is_in_time_order_and_mentions_the_terms_at_their_rate() -> None:
    t = Traffic(seed=5, creators=30, hours=3, brand_terms=("acme",), mention_rate=0.2)
    events = list(generate(t))
    times = [_time(e) for _, e in events]
    assert times == sorted(times)
    kinds = Counter(topic for topic, _ in events)
    assert set(kinds) == {"social.comments", "social.audience", "social.posts"}
    comments = [e for topic, e in events if topic == "social.comments"]
    assert 0.1 < sum("acme" in e["text"] for e in comments) / len(comments) < 0.3
