"""Which offsets the notifier may commit (pure bookkeeping; the commit itself is integration)."""

from __future__ import annotations

from aiokafka import TopicPartition

from monitor.notify.offsets import OffsetTracker


def test_offsets_are_committed_only_below_the_oldest_record_not_done() -> None:
    tp, other = TopicPartition("t", 0), TopicPartition("t", 1)
    tracker = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.consumed(tp, offset)
    tracker.consumed(other, 5)
    assert tracker.commit_points() == {tp: 10, other: 5}
    tracker.done(tp, 11)
    tracker.done(tp, 12)
    assert tracker.commit_points()[tp] == 10  # 10 is still out: nothing past it is safe
    tracker.done(tp, 10)
    tracker.done(other, 5)
    assert tracker.commit_points() == {tp: 13, other: 6}
    tracker.committed({tp: 13, other: 6})
    assert tracker.commit_points() == {}
    tracker.forget([tp])
    tracker.done(tp, 99)  # a revoked partition: ignored
    assert tracker.outstanding == 0
