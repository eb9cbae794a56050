"""Verdicts on progress: ``ok``, ``behind`` or ``stalled``, each with its reason (pure).

Plain numbers in, plain values out, so the table of cases is the test. The readers
(``monitor/ops/readers.py``) gather the numbers; ``monitor status`` and ``/healthz`` judge them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Word = Literal["ok", "behind", "stalled"]
_RANK: dict[Word, int] = {"ok": 0, "behind": 1, "stalled": 2}


@dataclass(frozen=True, slots=True)
class Verdict:
    word: Word
    reason: str


OK = Verdict("ok", "keeping up")


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most serious verdict (the first of equals), ``ok`` for none."""
    out = OK
    for v in verdicts:
        if _RANK[v.word] > _RANK[out.word]:
            out = v
    return out


@dataclass(frozen=True, slots=True)
class Seen:
    """A partition's last observation: its committed offset and since when it has not moved."""

    committed: int
    since_ms: int


def track(prev: Seen | None, *, committed: int, lag: int, now_ms: int) -> Seen:
    """The observation to keep: the clock restarts whenever the consumer moved or caught up.

    Stalled means the committed offset stays put while records wait; judging the offset rather
    than the lag itself keeps a consumer that is stuck while producers keep writing (its lag
    growing, never "not moving") stalled too.
    """
    if prev is None or prev.committed != committed or lag <= 0:
        return Seen(committed, now_ms)
    return prev


def partition_verdict(*, lag: int, stuck_s: float, stall_s: float, behind_records: int) -> Verdict:
    """A consumer group's partition: stalled when records wait and nothing moved for ``stall_s``."""
    if lag <= 0:
        return OK
    if stuck_s >= stall_s:
        return Verdict("stalled", f"{lag} records waiting, no progress for {stuck_s:.0f}s")
    if lag > behind_records:
        return Verdict("behind", f"{lag} records waiting")
    return OK


def steps_behind(
    *, watermark_ms: int, first_ms: int | None, cursor: int | None, unit_ms: int
) -> int:
    """Closed units (minutes, steps) below the watermark that a detector has not judged yet.

    A detector that never ran starts from the unit before the first event (as the runner does).
    """
    if watermark_ms <= 0 or (cursor is None and first_ms is None):
        return 0
    closed = watermark_ms // unit_ms - 1
    start = cursor if cursor is not None else (first_ms or 0) // unit_ms - 1
    return max(0, closed - start)


def detector_verdict(*, behind: int, tolerance: int, unit: str) -> Verdict:
    """A detector's cursor: a pass judges a few units at a time, so allow ``tolerance``."""
    if behind > tolerance:
        return Verdict("behind", f"{behind} {unit}s behind the watermark")
    return OK


def refresh_verdict(*, watermark_ms: int, refreshed_ms: int | None, tolerance_ms: int) -> Verdict:
    """The metric documents: behind when their last full refresh trails the watermark."""
    if watermark_ms <= 0:
        return OK
    if refreshed_ms is None:
        return Verdict("behind", "documents never fully refreshed")
    gap_ms = watermark_ms - refreshed_ms
    if gap_ms > tolerance_ms:
        return Verdict("behind", f"documents {gap_ms // 1000}s of event time behind")
    return OK


def parse_progress(raw: str | None) -> int | None:
    """The watermark of a refresh progress ``watermark:applied:late``; None when absent."""
    if not raw:
        return None
    head = raw.partition(":")[0]
    return int(head) if head.lstrip("-").isdigit() else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Dead-letter totals per reason as read at one wall-clock time."""

    at_ms: int
    totals: Mapping[str, int]


def recent_counts(
    snapshots: Sequence[Snapshot], *, now_ms: int, window_ms: int
) -> tuple[dict[str, int], int]:
    """Per-reason counts over the window from successive total snapshots, and the span covered.

    The base is the oldest snapshot inside the window (or, when none is, the newest one before
    it); counts are the newest totals minus the base. Fewer than two snapshots: span 0.
    """
    if len(snapshots) < 2:
        return {}, 0
    ordered = sorted(snapshots, key=lambda s: s.at_ms)
    newest = ordered[-1]
    start = now_ms - window_ms
    before = [s for s in ordered[:-1] if s.at_ms <= start]
    inside = [s for s in ordered[:-1] if s.at_ms > start]
    base = before[-1] if before else inside[0]
    counts = {}
    for code, total in newest.totals.items():
        n = total - base.totals.get(code, 0)
        if n > 0:
            counts[code] = n
    return counts, newest.at_ms - base.at_ms


def keep_snapshots(snapshots: Sequence[Snapshot], *, now_ms: int, window_ms: int) -> list[Snapshot]:
    """The snapshots worth keeping: those in the window plus the newest one before it."""
    ordered = sorted(snapshots, key=lambda s: s.at_ms)
    start = now_ms - window_ms
    before = [s for s in ordered if s.at_ms <= start]
    return before[-1:] + [s for s in ordered if s.at_ms > start]
