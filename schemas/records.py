"""Output records: alerts on ``monitor.alerts`` and dead letters on ``monitor.deadletter``."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal, Protocol

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

# Kafka refuses a record over the broker's max.message.bytes (~1 MB by default) and the producer
# one over its max_request_size (1 MiB, monitor/kafka/sender.py): every record the monitor writes
# stays under MAX_WRITE_BYTES, key and value counted as encoded.
MAX_WRITE_BYTES: Final = 1_000_000
# A dead letter (key + JSON value) fits in half of that whatever the input was: payload and key
# are cut to a prefix when they would not.
DEADLETTER_MAX_BYTES: Final = 500_000
# Longer keys are cut to this many bytes: a key is for partitioning, never worth the room.
DEADLETTER_KEY_MAX: Final = 4096
# JSON escapes a byte to at most 6 (``\u0001``); base64 makes 4 of 3: below this, nothing to measure
_ESCAPE_MAX: Final = 6
_OVERHEAD_MAX: Final = 2048


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
    silenced_by: str | None = None  # the silence that keeps it from Slack (monitor/silence)

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
        """The record; ``silenced_by`` only when set, so unsilenced records read as before."""
        data = asdict(self)
        if data["silenced_by"] is None:
            del data["silenced_by"]
        return data

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


def _kept_payload(raw: bytes, keep: int, size: int) -> tuple[str, Literal["utf-8", "base64"]]:
    kept = raw[:keep]
    text = _as_text(kept, truncated=keep < size)
    if text is None:
        return base64.b64encode(kept).decode("ascii"), "base64"
    return text, "utf-8"


class QuotedRecord(Protocol):
    """A Kafka record a dead letter quotes: where it was, its key and its value."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadLetter:
    """A refused record: why, where it came from, and as much of it as fits (``truncated``)."""

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
    key_bytes: int = 0
    key_truncated: bool = False

    @classmethod
    def quoting(cls, record: QuotedRecord, *, code: str, reason: str, at: str) -> DeadLetter:
        """The dead letter of one record, ingest's or the notifier's: its position, key, value."""
        return cls.build(
            reason=reason,
            code=code,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            payload=record.value,
            at=at,
        )

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
        max_bytes: int = DEADLETTER_MAX_BYTES,
    ) -> DeadLetter:
        """The one dead-letter builder: ``len(record_key) + len(to_json()) <= max_bytes``, always.

        The payload is kept as UTF-8 text when it is text, else base64. Sizes are measured on the
        encoded JSON (escaping can make a byte six), and only when the worst case would not fit,
        so a flood of small garbage pays nothing for the bound.
        """
        raw, key_raw = payload or b"", key or b""
        size, key_size = len(raw), len(key_raw)
        key_keep = min(key_size, DEADLETTER_KEY_MAX, max_bytes // (4 * _ESCAPE_MAX))
        kept_key = None if key is None else key_raw[:key_keep].decode("utf-8", "replace")
        reason = reason[:1000]
        text, encoding = _kept_payload(raw, size, size)
        letter = cls(
            reason=reason,
            code=code,
            topic=topic,
            partition=partition,
            offset=offset,
            key=kept_key,
            payload=text,
            at=at,
            encoding=encoding,
            payload_bytes=size,
            truncated=False,
            key_bytes=key_size,
            key_truncated=key_keep < key_size,
        )
        worst = _OVERHEAD_MAX + len(reason) * _ESCAPE_MAX + (size + 2 * key_keep) * _ESCAPE_MAX
        if worst <= max_bytes:
            return letter
        return letter._fitted(raw, max_bytes)

    def _fitted(self, raw: bytes, max_bytes: int) -> DeadLetter:
        """This letter with a payload prefix cut until the encoded record fits ``max_bytes``."""
        key_len = len(self.record_key() or b"")
        empty = len(replace(self, payload="").to_json())
        budget = max_bytes - key_len - empty
        keep = len(raw)
        for _ in range(4):
            text, encoding = _kept_payload(raw, keep, len(raw))
            used = len(dumps(text)) - 2
            if used <= budget:
                return replace(self, payload=text, encoding=encoding, truncated=keep < len(raw))
            # shrink in proportion to what escaping made of it, then a little more
            keep = max(0, min(keep - 1, keep * budget // used - 8))
        # every byte is at most six once escaped: this prefix fits whatever it holds
        text, encoding = _kept_payload(raw, max(0, budget // _ESCAPE_MAX - 8), len(raw))
        return replace(self, payload=text, encoding=encoding, truncated=True)

    def cut(self, max_bytes: int) -> DeadLetter:
        """The same letter bounded by a smaller ``max_bytes`` (a broker that refused it)."""
        raw = (
            base64.b64decode(self.payload)
            if self.encoding == "base64"
            else self.payload.encode("utf-8")
        )
        key = None if self.key is None else self.key.encode("utf-8")
        smaller = DeadLetter.build(
            reason=self.reason,
            code=self.code,
            topic=self.topic,
            partition=self.partition,
            offset=self.offset,
            key=key,
            payload=raw,
            at=self.at,
            max_bytes=max_bytes,
        )
        return replace(
            smaller,
            payload_bytes=self.payload_bytes,
            truncated=smaller.truncated or self.truncated,
            key_bytes=self.key_bytes,
            key_truncated=smaller.key_truncated or self.key_truncated,
        )

    def record_key(self) -> bytes | None:
        """The Kafka key of the dead letter: the source record's key (its kept prefix)."""
        return None if self.key is None else self.key.encode("utf-8")

    def to_json(self) -> bytes:
        # orjson writes a dataclass field by field (as asdict would), 15x faster: a garbage flood
        # costs per dead letter
        return dumps(self)
