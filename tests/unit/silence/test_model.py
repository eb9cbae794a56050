"""Silences: which alert one matches, when it is in force, and what a user may give (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.silence.model import (
    Silence,
    SilenceError,
    new_silence,
    oldest_first,
    parse_until,
    rfc3339,
    silence_from_dict,
    silencing,
)
from tests.unit.notify.samples import make_alert

NOW = 1_796_126_400_000  # 2026-12-01T12:00:00Z
HOUR = 3_600_000


def silence(**changes: Any) -> Silence:
    base: dict[str, Any] = {
        "silence_id": "s1",
        "brand": "acme",
        "type": None,
        "creator_id": None,
        "ends_at_ms": NOW + HOUR,
        "comment": "launch",
        "created_at_ms": NOW - HOUR,
        "created_by": None,
    }
    return Silence(**{**base, **changes})


@pytest.mark.parametrize(
    ("matchers", "alert", "matched"),
    [
        ({}, {}, True),
        ({}, {"brand": "globex"}, False),
        ({}, {"brand": None, "creator_id": "tiktok:bob"}, False),
        ({"type": "mention_spike"}, {}, True),
        ({"type": "sentiment_shift"}, {}, False),
        ({"creator_id": "tiktok:bob"}, {"creator_id": "tiktok:bob"}, True),
        ({"creator_id": "tiktok:bob"}, {"creator_id": None}, False),
        ({"creator_id": "tiktok:bob"}, {"creator_id": "instagram:alice"}, False),
        (
            {"type": "audience_growth", "creator_id": "tiktok:bob"},
            {"type": "audience_growth", "creator_id": "tiktok:bob"},
            True,
        ),
        (
            {"type": "audience_growth", "creator_id": "tiktok:bob"},
            {"type": "mention_spike", "creator_id": "tiktok:bob"},
            False,
        ),
    ],
)
def test_a_silence_matches_an_alert_when_every_matcher_given_equals_it(
    matchers: dict[str, Any], alert: dict[str, Any], matched: bool
) -> None:
    assert silence(**matchers).matches(make_alert(**alert)) is matched


@pytest.mark.parametrize(
    ("at", "state"),
    [
        (NOW - 2 * HOUR, "expired"),  # not yet created counts as not in force
        (NOW - HOUR, "active"),
        (NOW, "active"),
        (NOW + HOUR - 1, "active"),
        (NOW + HOUR, "expired"),  # the end is exclusive
        (NOW + 30 * HOUR, "expired"),
    ],
)
def test_a_silence_is_active_from_its_creation_until_its_end(at: int, state: str) -> None:
    assert silence().state(at) == state
    assert silence().active(at) is (state == "active")


def test_expiring_ends_it_now_and_never_extends_one_already_over() -> None:
    assert silence().expired_at(NOW).ends_at_ms == NOW
    assert not silence().expired_at(NOW).active(NOW)
    over = silence(ends_at_ms=NOW - 10)
    assert over.expired_at(NOW).ends_at_ms == NOW - 10


def test_silencing_names_the_oldest_active_matching_silence() -> None:
    old = silence(silence_id="old", created_at_ms=NOW - 2 * HOUR)
    new = silence(silence_id="new")
    expired = silence(silence_id="gone", created_at_ms=NOW - 3 * HOUR, ends_at_ms=NOW)
    other = silence(silence_id="other", brand="globex", created_at_ms=NOW - 4 * HOUR)
    alert = make_alert()
    assert oldest_first([new, expired, other, old]) == [other, expired, old, new]
    assert silencing(oldest_first([new, expired, other, old]), alert, NOW) == "old"
    assert silencing([new, old], alert, NOW) == "new"  # the order given decides
    assert silencing([expired, other], alert, NOW) is None
    assert silencing([], alert, NOW) is None


@pytest.mark.parametrize(
    ("text", "ends_at_ms"),
    [
        ("2h", NOW + 2 * HOUR),
        ("90m", NOW + 90 * 60_000),
        ("1d12h", NOW + 36 * HOUR),
        ("30s", NOW + 30_000),
        ("2026-12-01T18:00:00Z", NOW + 6 * HOUR),
        ("2026-12-01T18:00:00+01:00", NOW + 5 * HOUR),
        (" 2h ", NOW + 2 * HOUR),
    ],
)
def test_until_takes_rfc3339_or_a_duration(text: str, ends_at_ms: int) -> None:
    assert parse_until(text, NOW) == ends_at_ms


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "RFC 3339 or a duration"),
        ("2 hours", "RFC 3339 or a duration"),
        ("2h30", "RFC 3339 or a duration"),
        ("2026-12-01T18:00:00", "needs an offset"),
        ("2026-12-01T11:00:00Z", "in the future"),
        ("0s", "in the future"),
    ],
)
def test_a_bad_until_is_refused_naming_the_field(text: str, says: str) -> None:
    with pytest.raises(SilenceError, match=says) as caught:
        parse_until(text, NOW)
    assert caught.value.field == "until"


GOOD = {"brand": "acme", "until": "2h", "comment": "planned launch"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"brand": None}, "brand"),
        ({"brand": "Acme Shoes"}, "brand"),
        ({"type": "spike"}, "type"),
        ({"until": None}, "until"),
        ({"until": "yesterday"}, "until"),
        ({"comment": ""}, "comment"),
        ({"comment": "x" * 501}, "comment"),
        ({"creator": 7}, "creator"),
    ],
)
def test_new_silence_names_the_first_wrong_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(SilenceError) as caught:
        new_silence({**GOOD, **changes}, now_ms=NOW)
    assert caught.value.field == field


def test_new_silence_round_trips_and_shows_rfc3339_times() -> None:
    made = new_silence(
        {**GOOD, "type": "mention_spike", "creator": "tiktok:bob", "created_by": "ana"},
        now_ms=NOW,
        silence_id="s9",
    )
    assert silence_from_dict(made.to_dict()) == made
    shown = made.public(NOW)
    assert shown["id"] == "s9"
    assert shown["ends_at"] == "2026-12-01T14:00:00Z"
    assert shown["created_at"] == rfc3339(NOW) == "2026-12-01T12:00:00Z"
    assert shown["state"] == "active"
    assert made.public(NOW + 3 * HOUR)["state"] == "expired"
    assert (shown["type"], shown["creator_id"], shown["created_by"]) == (
        "mention_spike",
        "tiktok:bob",
        "ana",
    )
