"""``judge``: one round of reads to verdicts, and the history carried to the next round."""

from __future__ import annotations

from monitor.ops.readers import GroupRead, Member, PartitionRead, Progress
from monitor.ops.render import render
from monitor.ops.status import Judged, judge
from monitor.settings import Settings

SETTINGS = Settings(stall_s=60.0, batch_max=100)


def _progress(dead: dict[str, int] | None = None) -> Progress:
    return Progress(
        watermark_ms=600_000,
        first_ms=0,
        partition_watermarks={"social.posts:0": 600_000},
        detect_minute=8,
        detect_step=0,
        refreshed="600000:10:0",
        deadletters=dead or {},
    )


def _groups(committed: int, end: int) -> list[GroupRead]:
    worker = GroupRead(
        "worker",
        "monitor-worker",
        "Stable",
        (Member("m1", "worker-1", "/127.0.0.1"),),
        (PartitionRead("social.posts", 0, committed, end),),
    )
    notifier = GroupRead("notifier", "monitor-notifier", "Empty", (), ())
    return [worker, notifier]


def _round(
    committed: int,
    end: int,
    now_ms: int,
    prev: Judged | None = None,
    dead: dict[str, int] | None = None,
) -> Judged:
    """One ``monitor status`` round, carrying the previous round's history."""
    return judge(
        _groups(committed, end),
        _progress(dead),
        seen=prev.seen if prev else {},
        snapshots=prev.snapshots if prev else [],
        oldest_alert_ms=None,
        now_ms=now_ms,
        settings=SETTINGS,
    )


def test_a_partition_that_does_not_move_while_records_wait_is_stalled_after_stall_s() -> None:
    first = _round(10, 20, 1_000_000)
    assert first.status.verdict.word == "ok"
    later = _round(10, 25, 1_061_000, first)
    assert later.status.verdict.word == "stalled"
    assert later.status.groups[0].verdict.reason.startswith("social.posts:0: 15 records waiting")
    assert "STALLED" in render(later.status)


def test_a_moving_partition_restarts_the_clock() -> None:
    later = _round(15, 20, 1_061_000, _round(10, 20, 1_000_000))
    assert later.status.verdict.word == "ok"
    assert later.seen["worker|social.posts:0"].since_ms == 1_061_000


def test_dead_letters_of_the_last_five_minutes_come_from_successive_snapshots() -> None:
    first = _round(20, 20, 1_000_000, dead={"bad_json": 5})
    later = _round(20, 20, 1_030_000, first, dead={"bad_json": 8, "schema": 1})
    assert later.status.deadletters_5m == {"bad_json": 3, "schema": 1}
    assert later.status.deadletters_span_s == 30.0


def test_detector_behind_and_refresh_parts() -> None:
    parts = {p.part: p for p in _round(20, 20, 1_000_000).status.parts}
    assert parts["detect.brands"].verdict.word == "ok"  # minute 9 closed, 8 judged
    assert parts["detect.creators"].detail["steps_behind"] == 1
    assert parts["refresh"].detail["lag_ms"] == 0
    assert parts["notifier.backlog"].detail["alerts_waiting"] == 0
