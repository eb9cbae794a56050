"""Brand rules: the model and its record on the compacted ``monitor.rules`` topic.

Rules from a TOML file or a topic record are checked by :mod:`monitor.brands.validate`. The
Slack webhook is a secret: it is never put in a ``repr``, and :func:`rule_public_dict` masks it.
The topic record keeps it, because the notifier needs it and the topic is internal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from monitor.settings import Secret
from schemas.codec import dumps
from schemas.records import AlertType, Severity

BRAND_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SEVERITIES: Final[tuple[Severity, ...]] = ("info", "warning", "critical")
MASK: Final = "***"
SPIKE_KEYS: Final = ("min_count", "window_min", "threshold", "absolute_threshold")
GROWTH_KEYS: Final = ("min_pct", "min_abs")


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikeOverrides:
    """Per-brand overrides of the mention-spike detector's defaults (None: use the default)."""

    min_count: int | None = None
    window_min: int | None = None
    threshold: float | None = None  # p-value below which a window is a spike
    absolute_threshold: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class GrowthOverrides:
    """Per-brand overrides of the audience-growth detector's defaults (None: use the default)."""

    min_pct: float | None = None
    min_abs: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BrandRule:
    """One brand: which texts mention it, and how its alerts are tuned and routed."""

    brand_id: str
    name: str
    terms: tuple[str, ...]  # as written; the matcher normalizes them
    exclude: tuple[str, ...] = ()
    slack_webhook: Secret | None = None
    watch_creators: tuple[str, ...] = ()
    spike: SpikeOverrides = field(default_factory=SpikeOverrides)
    growth: GrowthOverrides = field(default_factory=GrowthOverrides)
    alert_types: tuple[AlertType, ...] | None = None  # None: every alert type reaches the notifier
    min_severity: Severity | None = None
    quiet_hours: str | None = None  # "HH:MM-HH:MM" in ``timezone``: Slack waits (brands/quiet.py)
    timezone: str | None = None  # IANA name; None: UTC


def _rule_dict(rule: BrandRule, webhook: str | None) -> dict[str, object]:
    return {
        "brand_id": rule.brand_id,
        "name": rule.name,
        "terms": list(rule.terms),
        "exclude": list(rule.exclude),
        "slack_webhook": webhook,
        "watch_creators": list(rule.watch_creators),
        "spike": {key: getattr(rule.spike, key) for key in SPIKE_KEYS},
        "growth": {key: getattr(rule.growth, key) for key in GROWTH_KEYS},
        "alert_types": None if rule.alert_types is None else list(rule.alert_types),
        "min_severity": rule.min_severity,
        "quiet_hours": rule.quiet_hours,
        "timezone": rule.timezone,
    }


def rule_to_json(rule: BrandRule) -> bytes:
    """The ``monitor.rules`` record value, webhook included (the topic is internal)."""
    webhook = None if rule.slack_webhook is None else rule.slack_webhook.reveal()
    return dumps(_rule_dict(rule, webhook))


def rule_public_dict(rule: BrandRule) -> dict[str, object]:
    """The rule as ``monitor rules list`` and the web API show it: the webhook masked."""
    return _rule_dict(rule, None if rule.slack_webhook is None else MASK)


__all__ = [
    "BRAND_ID_PATTERN",
    "GROWTH_KEYS",
    "MASK",
    "SEVERITIES",
    "SPIKE_KEYS",
    "BrandRule",
    "GrowthOverrides",
    "SpikeOverrides",
    "rule_public_dict",
    "rule_to_json",
]
