"""Sample alerts for the notifier's unit tests, changed field by field."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition

from monitor.notify.dispatch import PendingAlert, SourceRecord
from schemas.records import Alert

TP = TopicPartition("monitor.alerts", 0)


def make_alert(**changes: Any) -> Alert:
    base: dict[str, Any] = {
        "alert_id": "mention_spike:acme:2026-11-20T10:15:00Z",
        "type": "mention_spike",
        "status": "firing",
        "severity": "warning",
        "brand": "acme",
        "creator_id": None,
        "community": None,
        "window": "15m",
        "value": 42,
        "baseline": 6.1,
        "score": 1.2e-9,
        "threshold": 1e-4,
        "event_time": "2026-11-20T10:15:00Z",
        "detected_at": "2026-11-20T10:15:03Z",
        "summary": "Acme Shoes: 42 mentions in 15 min, 6.9x the usual 6.1",
        "evidence": {
            "top_posts": [
                {"post_id": "8812", "creator_id": "instagram:alice", "text": "new @acme shoes"},
                {"post_id": "8813", "creator_id": "tiktok:bob", "text": "acme again"},
            ]
        },
    }
    return Alert(**{**base, **changes})


def pending(n: int, brand: str | None = "acme", tp: TopicPartition = TP) -> PendingAlert:
    """Alert ``a<n>`` as read from offset ``n`` of ``tp``."""
    alert = make_alert(alert_id=f"a{n}", brand=brand)
    return PendingAlert(
        alert=alert,
        source=SourceRecord(tp.topic, tp.partition, n, None, alert.to_json()),
        marker=alert.delivery_marker,
        refs=[(tp, n)],
    )
