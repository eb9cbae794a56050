"""The alert lifecycle (pure): episodes, hold/clear, repeats, stable alert ids."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.detect.lifecycle import Finding, Lifecycle, Subject, advance

SUBJECT = Subject(type="mention_spike", key="acme", brand="acme")
ON = Finding(active=True, severity="warning", value=20, summary="Acme: 20 mentions")
HOT = Finding(active=True, severity="critical", value=60, summary="Acme: 60 mentions")
OFF = Finding(active=False, value=1, summary="Acme: 1 mention")


def run(
    findings: list[Finding], policy: Lifecycle, step_ms: int = 60_000
) -> list[tuple[str, str, str]]:
    state: dict[str, Any] | None = None
    out: list[tuple[str, str, str]] = []
    for i, f in enumerate(findings):
        state, records = advance(
            state,
            SUBJECT,
            f,
            now_ms=1_800_000_000_000 + i * step_ms,
            detected_at="2027-01-15T08:00:00Z",
            policy=policy,
        )
        out += [
            (r.alert_id.rsplit(":", 3)[-3][-2:] + r.alert_id[-6:], r.status, r.severity)
            for r in records
        ]
    return out


def statuses(findings: list[Finding], policy: Lifecycle) -> list[tuple[str, str]]:
    return [(s, sev) for _, s, sev in run(findings, policy)]


@pytest.mark.parametrize(
    ("findings", "policy", "want"),
    [
        ([OFF, OFF], Lifecycle(), []),
        ([ON], Lifecycle(), [("firing", "warning")]),
        ([ON, ON, ON], Lifecycle(), [("firing", "warning")]),  # one record per episode
        ([ON, HOT], Lifecycle(), [("firing", "warning"), ("firing", "critical")]),  # severity rose
        ([HOT, ON], Lifecycle(), [("firing", "critical")]),  # lower severity: no repeat
        (
            [ON, OFF, OFF, OFF],
            Lifecycle(clear_steps=3),
            [("firing", "warning"), ("resolved", "warning")],
        ),
        ([ON, OFF, ON, OFF, OFF], Lifecycle(clear_steps=3), [("firing", "warning")]),  # no flapping
        ([ON, OFF], Lifecycle(hold_steps=2), []),  # must hold 2 steps
        ([ON, ON], Lifecycle(hold_steps=2), [("firing", "warning")]),
        (
            [ON, ON, ON],
            Lifecycle(repeat_ms=120_000),
            [("firing", "warning"), ("firing", "warning")],
        ),
    ],
)
def test_lifecycle(findings: list[Finding], policy: Lifecycle, want: list[tuple[str, str]]) -> None:
    assert statuses(findings, policy) == want


def test_one_episode_keeps_one_alert_id_and_a_new_episode_gets_another() -> None:
    state: dict[str, Any] | None = None
    ids = []
    for i, f in enumerate([ON, ON, OFF, OFF, OFF, ON]):
        state, records = advance(
            state,
            SUBJECT,
            f,
            now_ms=1_800_000_000_000 + i * 60_000,
            detected_at="x",
            policy=Lifecycle(clear_steps=3),
        )
        ids += [(r.alert_id, r.status) for r in records]
    assert ids[0][0] == ids[1][0]
    assert ids[1][1] == "resolved"
    assert ids[2][0] != ids[0][0]
    assert ids[0][0] == "mention_spike:acme:2027-01-15T08:00:00Z"
