"""Output records: alerts on ``monitor.alerts`` and dead letters on ``monitor.deadletter``."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from schemas.codec import dumps

AlertType = Literal["mention_spike", "audience_growth", "sentiment_shift", "engagement_spike"]
AlertStatus = Literal["firing", "resolved"]
Severity = Literal["info", "warning", "critical"]

ALERT_TYPES: Final[tuple[AlertType, ...]] = (
    "mention_spike",
    "audience_growth",
    "sentiment_shift",
    "engagement_spike",
)
SEVERITY_RANK: Final[dict[str, int]] = {"info": 0, "warning": 1, "critical": 2}

# Kafka's default max.message.bytes is ~1 MB; a dead letter must fit whatever the input was.
DEADLETTER_PAYLOAD_MAX: Final = 262_144


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    alert_id: str
    type: AlertType
    status: AlertStatus
    severity: Severity
    brand: str | None
    creator_id: str | None
    community: str | None
    window: str
    value: float
    baseline: float | None
    score: float | None
    threshold: float | None
    event_time: str
    detected_at: str
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> bytes:
        """Contract key: the brand, or the creator when the alert has no brand."""
        return (self.brand or self.creator_id or "").encode()

    @property
    def delivery_marker(self) -> str:
        """One alert record, for the detector's outbox and the notifier's "sent once" markers.

        Repeats and escalations of an episode differ in event_time or severity: new records.
        """
        return f"{self.alert_id}|{self.status}|{self.severity}|{self.event_time}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return dumps(self.to_dict())


def _as_text(data: bytes, *, truncated: bool) -> str | None:
    """UTF-8 text, or None for binary; a cut may split the last character (up to 3 bytes)."""
    for drop in range(4 if truncated else 1):
        try:
            return data[: len(data) - drop].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    reason: str
    code: str
    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    payload: str
    at: str
    encoding: Literal["utf-8", "base64"] = "utf-8"
    payload_bytes: int = 0
    truncated: bool = False

    @classmethod
    def build(
        cls,
        *,
        reason: str,
        code: str,
        topic: str,
        partition: int | None,
        offset: int | None,
        key: bytes | None,
        payload: bytes | None,
        at: str,
    ) -> DeadLetter:
        """Keep the original payload as UTF-8 text when it is text, else base64; cap huge ones."""
        raw = payload or b""
        size = len(raw)
        kept = raw[:DEADLETTER_PAYLOAD_MAX]
        text, encoding = _as_text(kept, truncated=size > DEADLETTER_PAYLOAD_MAX), "utf-8"
        if text is None:
            text, encoding = base64.b64encode(kept).decode("ascii"), "base64"
        return cls(
            reason=reason,
            code=code,
            topic=topic,
            partition=partition,
            offset=offset,
            key=None if key is None else key.decode("utf-8", "replace"),
            payload=text,
            at=at,
            encoding=encoding,  # type: ignore[arg-type]  # narrowed by the two literals above
            payload_bytes=size,
            truncated=size > DEADLETTER_PAYLOAD_MAX,
        )

    def to_json(self) -> bytes:
        # orjson writes a dataclass field by field (as asdict would), 15x faster: a garbage flood
        # costs per dead letter
        return dumps(self)
