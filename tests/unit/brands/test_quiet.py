"""Quiet hours: the window's syntax, the rule's validation, and when a message may go out."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.brands.quiet import parse_quiet_hours, send_after
from monitor.brands.validate import RuleError, parse_rules_toml
from schemas.records import Severity


def at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.mark.parametrize(
    ("window", "tz", "now", "after"),
    [
        # a window inside one day
        ("12:00-14:00", "UTC", "2026-06-10T11:59:00+00:00", "2026-06-10T11:59:00+00:00"),
        ("12:00-14:00", "UTC", "2026-06-10T12:00:00+00:00", "2026-06-10T14:00:00+00:00"),
        ("12:00-14:00", "UTC", "2026-06-10T14:00:00+00:00", "2026-06-10T14:00:00+00:00"),
        # crossing midnight, in Berlin's summer time (UTC+2)
        ("22:00-07:00", "Europe/Berlin", "2026-06-10T19:59:00+00:00", "2026-06-10T19:59:00+00:00"),
        ("22:00-07:00", "Europe/Berlin", "2026-06-10T20:00:00+00:00", "2026-06-11T05:00:00+00:00"),
        ("22:00-07:00", "Europe/Berlin", "2026-06-10T23:30:00+00:00", "2026-06-11T05:00:00+00:00"),
        ("22:00-07:00", "Europe/Berlin", "2026-06-11T04:59:00+00:00", "2026-06-11T05:00:00+00:00"),
        ("22:00-07:00", "Europe/Berlin", "2026-06-11T05:00:00+00:00", "2026-06-11T05:00:00+00:00"),
        # the night clocks go back (25 Oct 2026, 03:00 CEST -> 02:00 CET): 07:00 is UTC+1 then
        ("22:00-07:00", "Europe/Berlin", "2026-10-24T21:00:00+00:00", "2026-10-25T06:00:00+00:00"),
        # the night clocks go forward (29 Mar 2026, 02:00 CET -> 03:00 CEST): 07:00 is UTC+2
        ("22:00-07:00", "Europe/Berlin", "2026-03-28T21:00:00+00:00", "2026-03-29T05:00:00+00:00"),
        # a zone behind UTC: New York's 22:00 is the next UTC day
        (
            "22:00-06:30",
            "America/New_York",
            "2026-12-02T03:00:00+00:00",
            "2026-12-02T11:30:00+00:00",
        ),
    ],
)
def test_a_message_waits_for_the_end_of_quiet_hours(
    window: str, tz: str, now: str, after: str
) -> None:
    assert send_after(window, tz, "warning", at(now)) == at(after)


@pytest.mark.parametrize("severity", ["info", "warning"])
def test_only_critical_alerts_are_never_held(severity: Severity) -> None:
    night = at("2026-06-10T23:00:00+00:00")
    assert send_after("22:00-07:00", "UTC", "critical", night) == night
    assert send_after("22:00-07:00", "UTC", severity, night) > night
    assert send_after(None, None, severity, night) == night


def test_no_timezone_means_utc() -> None:
    assert send_after("22:00-07:00", None, "info", at("2026-06-10T23:00:00+00:00")) == at(
        "2026-06-11T07:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [("22-07", "HH:MM-HH:MM"), ("24:00-07:00", "HH:MM-HH:MM"), ("7:00-9:00", "HH:MM-HH:MM"),
     ("08:00-08:00", "empty")],
)  # fmt: skip
def test_bad_windows_are_refused(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_quiet_hours(text)


def rule(extra: str) -> str:
    return f'[brands.acme]\nname = "Acme"\nterms = ["acme"]\n{extra}\n'


def test_the_rule_carries_valid_quiet_hours() -> None:
    rules = parse_rules_toml(rule('quiet_hours = "22:00-07:00"\ntimezone = "Europe/Berlin"'))
    assert (rules["acme"].quiet_hours, rules["acme"].timezone) == ("22:00-07:00", "Europe/Berlin")


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        ('quiet_hours = "late"', "brand 'acme': field 'quiet_hours': must be \"HH:MM-HH:MM\""),
        ("quiet_hours = 22", "brand 'acme': field 'quiet_hours': must be a string"),
        ('timezone = "Mars/Olympus"', "brand 'acme': field 'timezone': unknown IANA time zone"),
        ('timezone = "../etc"', "brand 'acme': field 'timezone': unknown IANA time zone"),
    ],
)
def test_bad_quiet_hours_are_refused_naming_brand_and_field(extra: str, problem: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules_toml(rule(extra))
    assert caught.value.problems[0].startswith(problem)
