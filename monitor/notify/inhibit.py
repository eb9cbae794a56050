"""Inhibition, Alertmanager's classic rule: a brand's critical spike mutes its lesser ones (pure).

While a brand's ``mention_spike`` fires at ``critical`` (from its critical record until that
episode's resolved record), the same brand's ``warning`` and ``info`` ``mention_spike`` firing
records are not sent to Slack: the team already knows. The state is one alert id per brand; this
module only says how a record changes it and whether the record is inhibited.
"""

from __future__ import annotations

from typing import Final

from schemas.records import Alert

SOURCE_TYPE: Final = "mention_spike"


def inhibit_step(critical_id: str | None, alert: Alert) -> tuple[str | None, bool]:
    """The brand's new critical alert id (None: none firing), and whether ``alert`` is muted."""
    if alert.type != SOURCE_TYPE or alert.brand is None:
        return critical_id, False
    if alert.status == "resolved":
        return (None if alert.alert_id == critical_id else critical_id), False
    if alert.severity == "critical":
        return alert.alert_id, False
    return critical_id, critical_id is not None
