"""The Alertmanager-like alert lifecycle (pure).

A detector's ``Finding`` says whether its condition is true now; ``advance`` turns a run of them
into alert records: pending → firing (one record per episode, stable ``alert_id``) → resolved,
with hold/clear counts against flapping and repeats only when severity rises or after the repeat
interval. Everything is in event time, so replaying history gives the same records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from schemas.events import format_time_ms
from schemas.records import SEVERITY_RANK, Alert, AlertType, Severity

State = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    active: bool
    severity: Severity = "warning"
    value: float = 0.0
    baseline: float | None = None
    score: float | None = None
    threshold: float | None = None
    window: str = ""
    summary: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Lifecycle:
    hold_steps: int = 1
    clear_steps: int = 3
    repeat_ms: int = 4 * 3_600_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    type: AlertType
    key: str  # brand id or creator id: what one episode is about
    brand: str | None = None
    creator_id: str | None = None
    community: str | None = None


def advance(
    state: State | None,
    subject: Subject,
    finding: Finding,
    *,
    now_ms: int,
    detected_at: str,
    policy: Lifecycle,
) -> tuple[State | None, list[Alert]]:
    """One lifecycle step for one subject; returns the new state and the records to emit."""
    st = dict(state or {})
    if finding.active:
        fire = _still_firing if st.get("phase", "ok") == "firing" else _pending
        st, status = fire(st, subject, finding, now_ms, policy)
        emitted = finding
    elif st.get("phase", "ok") == "firing":
        st["clear"] = st.get("clear", 0) + 1
        if st["clear"] < policy.clear_steps:
            return st, []
        # the resolved record repeats what fired, with the numbers that cleared it
        last = {**st["last"], "value": finding.value, "score": finding.score}
        emitted, status = Finding(**last), "resolved"
    else:
        return None, []
    if status is None:
        return st, []
    record = _record(st["alert_id"], status, subject, emitted, now_ms, detected_at)
    return (None if status == "resolved" else st), [record]


def _still_firing(
    st: State, subject: Subject, finding: Finding, now_ms: int, policy: Lifecycle
) -> tuple[State, str | None]:
    """An episode already firing repeats only when severity rose or the repeat interval passed."""
    st["clear"] = 0
    rose = SEVERITY_RANK[finding.severity] > SEVERITY_RANK[st["severity"]]
    if rose or now_ms - st["sent_ms"] >= policy.repeat_ms:
        st.update(severity=finding.severity, sent_ms=now_ms, last=asdict(finding))
        return st, "firing"
    st["last"] = asdict(finding)
    return st, None


def _pending(
    st: State, subject: Subject, finding: Finding, now_ms: int, policy: Lifecycle
) -> tuple[State, str | None]:
    """A new episode fires once it held for ``hold_steps``; its alert_id names where it began."""
    st["clear"] = 0
    st["hold"] = st.get("hold", 0) + 1
    st["phase"] = "pending"
    if st["hold"] < policy.hold_steps:
        return st, None
    st.update(
        phase="firing",
        alert_id=f"{subject.type}:{subject.key}:{format_time_ms(now_ms)}",
        severity=finding.severity,
        sent_ms=now_ms,
        last=asdict(finding),
    )
    return st, "firing"


def _record(
    alert_id: str, status: str, subject: Subject, f: Finding, now_ms: int, detected_at: str
) -> Alert:
    return Alert(
        alert_id=alert_id,
        type=subject.type,
        status=status,  # type: ignore[arg-type]  # "firing" | "resolved" by construction
        severity=f.severity,
        brand=subject.brand,
        creator_id=subject.creator_id,
        community=subject.community,
        window=f.window,
        value=f.value,
        baseline=f.baseline,
        score=f.score,
        threshold=f.threshold,
        event_time=format_time_ms(now_ms),
        detected_at=detected_at,
        summary=f.summary if status == "firing" else f"Resolved: {f.summary}",
        evidence=f.evidence,
    )
