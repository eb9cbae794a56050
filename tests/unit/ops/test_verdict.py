"""The pure verdicts of monitor/ops/verdict.py, as tables."""

from __future__ import annotations

import pytest

from monitor.ops.verdict import (
    OK,
    Seen,
    Snapshot,
    Verdict,
    detector_verdict,
    keep_snapshots,
    parse_progress,
    partition_verdict,
    recent_counts,
    refresh_verdict,
    steps_behind,
    track,
    worst,
)


@pytest.mark.parametrize(
    ("prev", "committed", "lag", "expected"),
    [
        (None, 5, 3, Seen(5, 1000)),  # first sight: the clock starts now
        (Seen(5, 100), 5, 3, Seen(5, 100)),  # not moved while records wait: clock keeps running
        (Seen(5, 100), 7, 3, Seen(7, 1000)),  # moved: clock restarts
        (Seen(5, 100), 5, 0, Seen(5, 1000)),  # caught up: nothing waits, no stall clock
    ],
)
def test_track(prev: Seen | None, committed: int, lag: int, expected: Seen) -> None:
    assert track(prev, committed=committed, lag=lag, now_ms=1000) == expected


@pytest.mark.parametrize(
    ("lag", "stuck_s", "word"),
    [
        (0, 999.0, "ok"),  # caught up, however long ago it last moved
        (10, 0.0, "ok"),  # one batch's worth waiting and moving
        (5000, 5.0, "behind"),  # more than a batch waits, still moving
        (10, 60.0, "stalled"),  # records wait and nothing moved for stall_s
        (5000, 61.0, "stalled"),
    ],
)
def test_partition_verdict(lag: int, stuck_s: float, word: str) -> None:
    v = partition_verdict(lag=lag, stuck_s=stuck_s, stall_s=60.0, behind_records=2000)
    assert v.word == word


def test_stalled_reason_names_lag_and_time() -> None:
    v = partition_verdict(lag=12, stuck_s=75.4, stall_s=60.0, behind_records=2000)
    assert v == Verdict("stalled", "12 records waiting, no progress for 75s")


@pytest.mark.parametrize(
    ("watermark_ms", "first_ms", "cursor", "unit_ms", "behind"),
    [
        (0, None, None, 60_000, 0),  # nothing applied yet
        (600_000, 0, 8, 60_000, 1),  # minute 9 closed at 10:00, minute 8 judged
        (600_000, 0, 9, 60_000, 0),
        (600_000, 240_000, None, 60_000, 6),  # never ran: minutes 4..9 wait
        (3_000_000, 0, 5, 300_000, 4),  # steps 6..9 closed, not judged
        (3_000_000, 0, 20, 300_000, 0),  # cursor ahead (a reset watermark) is not negative
    ],
)
def test_steps_behind(
    watermark_ms: int, first_ms: int | None, cursor: int | None, unit_ms: int, behind: int
) -> None:
    got = steps_behind(watermark_ms=watermark_ms, first_ms=first_ms, cursor=cursor, unit_ms=unit_ms)
    assert got == behind


@pytest.mark.parametrize(("behind", "word"), [(0, "ok"), (2, "ok"), (3, "behind"), (100, "behind")])
def test_detector_verdict(behind: int, word: str) -> None:
    assert detector_verdict(behind=behind, tolerance=2, unit="minute").word == word


@pytest.mark.parametrize(
    ("watermark_ms", "refreshed_ms", "word"),
    [
        (0, None, "ok"),  # nothing to refresh
        (1_000_000, None, "behind"),
        (1_000_000, 999_000, "ok"),
        (1_000_000, 600_000, "behind"),  # 400 s of event time behind, tolerance 300 s
    ],
)
def test_refresh_verdict(watermark_ms: int, refreshed_ms: int | None, word: str) -> None:
    v = refresh_verdict(watermark_ms=watermark_ms, refreshed_ms=refreshed_ms, tolerance_ms=300_000)
    assert v.word == word


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, None), ("", None), ("1700:12:3", 1700), ("x:1", None)]
)
def test_parse_progress(raw: str | None, expected: int | None) -> None:
    assert parse_progress(raw) == expected


def test_worst_picks_the_most_serious_first() -> None:
    a, b, c = Verdict("behind", "a"), Verdict("stalled", "b"), Verdict("stalled", "c")
    assert worst([OK, a, b, c]) == b
    assert worst([]) == OK


@pytest.mark.parametrize(
    ("snaps", "counts", "span_ms"),
    [
        ([], {}, 0),
        ([(1000, {"bad_json": 3})], {}, 0),  # one snapshot: no window yet
        # base is the newest snapshot at or before the window start (now 400_000, window 300_000)
        ([(50_000, {"x": 1}), (100_000, {"x": 4}), (400_000, {"x": 10})], {"x": 6}, 300_000),
        # no snapshot before the window: the oldest inside is the base, the span says so
        ([(200_000, {"x": 1}), (400_000, {"x": 3, "y": 2})], {"x": 2, "y": 2}, 200_000),
        ([(200_000, {"x": 5}), (400_000, {"x": 5})], {}, 200_000),  # none new
    ],
)
def test_recent_counts(
    snaps: list[tuple[int, dict[str, int]]], counts: dict[str, int], span_ms: int
) -> None:
    got = recent_counts([Snapshot(at, t) for at, t in snaps], now_ms=400_000, window_ms=300_000)
    assert got == (counts, span_ms)


def test_keep_snapshots_keeps_the_window_and_its_base() -> None:
    snaps = [Snapshot(at, {}) for at in (10_000, 50_000, 100_000, 350_000)]
    kept = keep_snapshots(snaps, now_ms=400_000, window_ms=300_000)
    assert [s.at_ms for s in kept] == [100_000, 350_000]
