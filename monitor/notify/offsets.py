"""The notifier's Kafka offsets: commit only below the oldest record not yet done.

A record is done once its alert is delivered, dead-lettered, filtered or found already delivered.
Committing below the oldest one still open means a crash re-reads everything in flight; the
delivery log (``monitor.notify.log``) keeps Slack from seeing any of it twice. Only the consumer
task calls in here (the run loop, and the rebalance listener inside its ``getmany``).
"""

from __future__ import annotations

from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from monitor.logs import get_logger

log = get_logger(__name__)


class OffsetTracker:
    """Per partition: offsets read but not done; commit points stay below the oldest of them."""

    __slots__ = ("_committed", "_next", "_open")

    def __init__(self) -> None:
        self._open: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def consumed(self, tp: TopicPartition, offset: int) -> None:
        self._open.setdefault(tp, set()).add(offset)
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)

    def done(self, tp: TopicPartition, offset: int) -> None:
        if tp in self._open:  # a forgotten (revoked) partition is no longer ours to commit
            self._open[tp].discard(offset)

    @property
    def outstanding(self) -> int:
        return sum(len(offsets) for offsets in self._open.values())

    def commit_points(self) -> dict[TopicPartition, int]:
        points = {}
        for tp, nxt in self._next.items():
            offsets = self._open.get(tp)
            point = min(offsets) if offsets else nxt
            if point != self._committed.get(tp):
                points[tp] = point
        return points

    def committed(self, points: dict[TopicPartition, int]) -> None:
        self._committed.update(points)

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        for tp in tps:
            self._open.pop(tp, None)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)


class Offsets:
    """The consumer's side of the tracker: commits, and pausing when too much is in memory."""

    __slots__ = ("_consumer", "_max_pending", "tracker")

    def __init__(self, consumer: AIOKafkaConsumer, *, max_pending: int) -> None:
        self._consumer = consumer
        self._max_pending = max_pending
        self.tracker = OffsetTracker()

    def flow_control(self) -> None:
        """Pause fetching while ``max_pending`` records wait; resume once fewer do."""
        assigned = self._consumer.assignment()
        if self.tracker.outstanding >= self._max_pending:
            self._consumer.pause(*assigned)
        elif self._consumer.paused():
            self._consumer.resume(*assigned)

    async def commit(self, only: Iterable[TopicPartition] | None = None) -> None:
        """Commit what is done on the assigned partitions (or on ``only`` of them)."""
        assigned = self._consumer.assignment()
        wanted = assigned if only is None else set(only) & assigned
        points = {tp: o for tp, o in self.tracker.commit_points().items() if tp in wanted}
        if not points:
            return
        try:
            await self._consumer.commit(points)
        except KafkaError as exc:
            # Not committed means re-read later; the delivery log makes that harmless.
            log.warning("offset commit failed; will retry", error=type(exc).__name__)
            return
        self.tracker.committed(points)

    async def revoke(self, revoked: list[TopicPartition]) -> None:
        """Commit what is done on partitions about to go, then stop tracking them."""
        await self.commit(only=revoked)
        self.tracker.forget(revoked)
