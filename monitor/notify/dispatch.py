"""Where an alert goes and which alerts share one message: routing and grouping (pure).

Alertmanager's ``dispatch/`` for our notifier: an alert record is decoded, its brand's rule may
filter it out, it is routed to the brand's webhook, else the default one, else stdout, and it waits
in its (webhook, brand) group until the group is due: ``group_wait_s`` after its first alert, or at
once when the group is full, and never before the brand's quiet hours end. Nothing here does I/O;
clocks come in as numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Final, Literal, get_args

from monitor.brands.rules import BrandRule
from monitor.settings import Secret
from schemas.codec import JSONDecodeError, loads
from schemas.records import ALERT_TYPES, SEVERITY_RANK, Alert, AlertStatus

if TYPE_CHECKING:
    from aiokafka import TopicPartition

RouteName = Literal["brand", "default", "stdout"]


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """The ``monitor.alerts`` record an alert came from: what a dead letter quotes."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(slots=True, eq=False)
class PendingAlert:
    """An alert between its record and its outcome (delivered or dead-lettered)."""

    alert: Alert
    source: SourceRecord  # the first record; duplicates only add to ``refs``
    marker: str
    refs: list[tuple[TopicPartition, int]]  # every record (duplicates too) this delivery settles
    inflight: bool = False


# --- decoding -----------------------------------------------------------------------------------

_ALERT_FIELDS: Final = {f.name for f in fields(Alert)}
_REQUIRED: Final = ("alert_id", "type", "status", "severity", "summary")
_STATUSES: Final = get_args(AlertStatus)
_DEFAULTS: Final[Mapping[str, Any]] = {
    "brand": None,
    "creator_id": None,
    "community": None,
    "window": "",
    "value": 0,
    "baseline": None,
    "score": None,
    "threshold": None,
    "event_time": "",
    "detected_at": "",
}


def parse_alert(raw: bytes | None) -> Alert:
    """An ``Alert`` from a ``monitor.alerts`` record value; ValueError names what is wrong."""
    if raw is None:
        raise ValueError("alert record has no value")
    try:
        data = loads(raw)
    except JSONDecodeError:
        raise ValueError("alert record is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("alert record is not a JSON object")
    missing = [name for name in _REQUIRED if not isinstance(data.get(name), str) or not data[name]]
    if missing:
        raise ValueError(f"alert record lacks {', '.join(missing)}")
    if data["type"] not in ALERT_TYPES:
        raise ValueError(f"unknown alert type {str(data['type'])[:40]!r}")
    if data["status"] not in _STATUSES:
        raise ValueError(f"unknown alert status {str(data['status'])[:40]!r}")
    if data["severity"] not in SEVERITY_RANK:
        raise ValueError(f"unknown alert severity {str(data['severity'])[:40]!r}")
    kept = {k: v for k, v in data.items() if k in _ALERT_FIELDS}
    silenced_by = kept.get("silenced_by")
    if silenced_by is not None and not isinstance(silenced_by, str):
        raise ValueError("alert field silenced_by must be a silence id")
    for name in ("value", "baseline", "score", "threshold"):
        value = kept.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"alert field {name} must be a number")
    return Alert(**{**_DEFAULTS, "evidence": {}, **kept})


# --- routing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message goes: a webhook (``None`` for stdout) and which rule chose it, for logs."""

    webhook: Secret | None
    name: RouteName


def rule_accepts(rule: BrandRule, alert: Alert) -> bool:
    """The brand's filters: its alert types, and its lowest severity."""
    if rule.alert_types is not None and alert.type not in rule.alert_types:
        return False
    return rule.min_severity is None or (
        SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[rule.min_severity]
    )


def choose_route(
    alert: Alert, rules: Mapping[str, BrandRule], default: Secret | None
) -> Route | None:
    """The brand's webhook, else the default one, else stdout; None when the rule filters it."""
    rule = rules.get(alert.brand) if alert.brand else None
    if rule is not None and not rule_accepts(rule, alert):
        return None
    if rule is not None and rule.slack_webhook is not None:
        return Route(rule.slack_webhook, "brand")
    if default is not None:
        return Route(default, "default")
    return Route(None, "stdout")


def webhooks_in_use(rules: Mapping[str, BrandRule], default: Secret | None) -> list[Secret]:
    """Every webhook URL a route can lead to: what ``redact`` must hide in text from outside."""
    hooks = [r.slack_webhook for r in rules.values() if r.slack_webhook]
    return [*hooks, default] if default is not None else hooks


# --- grouping -----------------------------------------------------------------------------------


class Groups:
    """One webhook's open groups, one per brand: the alerts waiting and when each group is due."""

    __slots__ = ("_due", "_groups", "_max_group", "_wait_s")

    def __init__(self, *, wait_s: float, max_group: int) -> None:
        self._wait_s = wait_s
        self._max_group = max_group
        self._groups: dict[str | None, list[PendingAlert]] = {}
        self._due: dict[str | None, float] = {}

    def __len__(self) -> int:
        """Alerts waiting."""
        return sum(len(group) for group in self._groups.values())

    def add(self, item: PendingAlert, now: float, not_before: float | None = None) -> None:
        """Join the brand's group: due ``wait_s`` after its first alert, at once when full, and
        never before ``not_before`` (quiet hours). An alert not held (a critical one) makes the
        group due as usual, so the held ones go out with it."""
        brand = item.alert.brand
        group = self._groups.setdefault(brand, [])
        floor = now if not_before is None else max(now, not_before)
        due = max(now + self._wait_s, floor)
        self._due[brand] = min(self._due.get(brand, due), due)
        group.append(item)
        if len(group) >= self._max_group:
            self._due[brand] = min(self._due[brand], floor)

    def next_due(self) -> float | None:
        """When the group due first is due; None when nothing waits."""
        return min(self._due.values()) if self._due else None

    def take(self) -> list[PendingAlert]:
        """The oldest ``max_group`` alerts of the group due first; the rest of it stays due."""
        brand = min(self._due, key=self._due.__getitem__)
        group = self._groups[brand]
        batch, rest = group[: self._max_group], group[self._max_group :]
        if rest:
            self._groups[brand] = rest
        else:
            del self._groups[brand]
            del self._due[brand]
        return batch

    def release(self, gone: set[TopicPartition]) -> list[PendingAlert]:
        """Forget revoked partitions' records; return the alerts left with none (now dropped)."""
        dropped = []
        for brand, group in list(self._groups.items()):
            kept = []
            for item in group:
                item.refs = [ref for ref in item.refs if ref[0] not in gone]
                if item.refs or item.inflight:
                    kept.append(item)
                else:
                    dropped.append(item)
            if kept:
                self._groups[brand] = kept
            else:
                del self._groups[brand]
                self._due.pop(brand, None)
        return dropped
