"""A brand rule's quiet hours: the window's syntax, and when a Slack message may go out (pure).

``quiet_hours = "22:00-07:00"`` in the rule's ``timezone`` (IANA, default UTC): a window whose
end is before its start crosses midnight. The window is wall-clock time in that zone, so it
follows daylight-saving changes; ``critical`` alerts are never held.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from schemas.records import Severity

QUIET_HOURS_PATTERN: Final = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def parse_quiet_hours(text: str) -> tuple[int, int]:
    """Start and end as minutes of the day; ValueError says what is wrong."""
    match = QUIET_HOURS_PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f'must be "HH:MM-HH:MM" (24-hour), got {text[:40]!r}')
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == end:
        raise ValueError("start and end are the same: the window would be empty")
    return start, end


def zone(name: str) -> ZoneInfo:
    """The IANA zone; ValueError when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name[:60]!r}") from None


def send_after(
    quiet_hours: str | None, timezone: str | None, severity: Severity, now_s: float
) -> float:
    """When a message for this alert may go out (Unix seconds): now, or the end of quiet hours."""
    if quiet_hours is None or severity == "critical":
        return now_s
    start, end = parse_quiet_hours(quiet_hours)
    tz = zone(timezone or "UTC")
    local = datetime.fromtimestamp(now_s, tz)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return now_s
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    ends = datetime.combine(day, time(end // 60, end % 60), tzinfo=tz)
    return max(now_s, ends.timestamp())
