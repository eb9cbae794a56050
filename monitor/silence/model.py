"""Silences, as Alertmanager has them: which alert one mutes, and whether it is in force (pure).

A silence has matchers (a brand, and optionally an alert type and a creator) and an end time. It
is active from its creation until ``ends_at_ms``; expiring it early sets the end to now, so the
record stays (for a day, see ``SILENCE_KEEP_EXPIRED_S``) and says when it stopped. Times are
wall-clock milliseconds passed in, never read here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from monitor.brands.rules import BRAND_ID_PATTERN
from schemas.records import ALERT_TYPES, Alert

SilenceState = Literal["active", "expired"]

COMMENT_MAX: Final = 500
CREATOR_MAX: Final = 200
_DURATION: Final = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNIT_MS: Final = (86_400_000, 3_600_000, 60_000, 1_000)


class SilenceError(ValueError):
    """A silence's field is missing or malformed; ``field`` names it (for a 400 or a CLI error)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class Silence:
    silence_id: str
    brand: str
    type: str | None
    creator_id: str | None
    ends_at_ms: int
    comment: str
    created_at_ms: int
    created_by: str | None

    def active(self, now_ms: int) -> bool:
        return self.created_at_ms <= now_ms < self.ends_at_ms

    def state(self, now_ms: int) -> SilenceState:
        return "active" if self.active(now_ms) else "expired"

    def matches(self, alert: Alert) -> bool:
        """Every matcher given equals the alert's field (an absent matcher matches anything)."""
        return (
            alert.brand == self.brand
            and (self.type is None or alert.type == self.type)
            and (self.creator_id is None or alert.creator_id == self.creator_id)
        )

    def expired_at(self, now_ms: int) -> Silence:
        """The silence ended now (a silence already over keeps its end)."""
        return Silence(**{**asdict(self), "ends_at_ms": min(self.ends_at_ms, now_ms)})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self, now_ms: int) -> dict[str, Any]:
        """What the CLI and the web API show: the fields, times in RFC 3339, and the state."""
        return {
            "id": self.silence_id,
            "brand": self.brand,
            "type": self.type,
            "creator_id": self.creator_id,
            "ends_at": rfc3339(self.ends_at_ms),
            "comment": self.comment,
            "created_at": rfc3339(self.created_at_ms),
            "created_by": self.created_by,
            "state": self.state(now_ms),
        }


def oldest_first(silences: Iterable[Silence]) -> list[Silence]:
    """The order silences are listed and judged in: the oldest one names a silenced alert."""
    return sorted(silences, key=lambda s: (s.created_at_ms, s.silence_id))


def silencing(silences: Iterable[Silence], alert: Alert, now_ms: int) -> str | None:
    """The id of the first active silence (in the order given) matching the alert, else None.

    Callers pass :func:`oldest_first` order (the store's); sorting here would redo it per alert.
    """
    for silence in silences:
        if silence.active(now_ms) and silence.matches(alert):
            return silence.silence_id
    return None


def rfc3339(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    )


def parse_until(text: str, now_ms: int) -> int:
    """An end time: RFC 3339 with an offset (``2026-12-02T18:00:00Z``) or a duration from now
    (``90m``, ``2h``, ``1d12h``, ``30s``); it must lie in the future."""
    text = text.strip()
    match = _DURATION.fullmatch(text)
    if text and match is not None:
        ends = now_ms + sum(
            int(n) * unit for n, unit in zip(match.groups(), _UNIT_MS, strict=True) if n
        )
    else:
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SilenceError(
                "until", f"must be RFC 3339 or a duration like 2h or 90m, got {text[:40]!r}"
            ) from None
        if moment.tzinfo is None:
            raise SilenceError("until", "an RFC 3339 time needs an offset (Z or +01:00)")
        ends = int(moment.timestamp() * 1000)
    if ends <= now_ms:
        raise SilenceError("until", "must be in the future")
    return ends


def _optional(data: Mapping[str, Any], name: str, limit: int) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise SilenceError(name, f"must be text of at most {limit} characters")
    return value


def new_silence(data: Mapping[str, Any], *, now_ms: int, silence_id: str | None = None) -> Silence:
    """A silence from what a user gave (``brand``, ``type``, ``creator``, ``until``, ``comment``,
    ``created_by``); SilenceError names the first field that is wrong."""
    brand = data.get("brand")
    if not isinstance(brand, str) or not BRAND_ID_PATTERN.fullmatch(brand):
        raise SilenceError("brand", "is required: a brand id (lowercase letters, digits, - or _)")
    kind = _optional(data, "type", 40)
    if kind is not None and kind not in ALERT_TYPES:
        raise SilenceError("type", f"must be one of {', '.join(ALERT_TYPES)}")
    until = data.get("until")
    if not isinstance(until, str):
        raise SilenceError("until", "is required: RFC 3339 or a duration like 2h")
    comment = _optional(data, "comment", COMMENT_MAX)
    if comment is None:
        raise SilenceError("comment", "is required: say why the brand is silenced")
    return Silence(
        silence_id=silence_id or uuid.uuid4().hex,
        brand=brand,
        type=kind,
        creator_id=_optional(data, "creator", CREATOR_MAX),
        ends_at_ms=parse_until(until, now_ms),
        comment=comment,
        created_at_ms=now_ms,
        created_by=_optional(data, "created_by", CREATOR_MAX),
    )


def silence_from_dict(data: Mapping[str, Any]) -> Silence:
    """A stored silence (``Silence.to_dict``)."""
    return Silence(**{name: data[name] for name in Silence.__dataclass_fields__})
