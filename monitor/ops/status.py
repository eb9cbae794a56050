"""``monitor status``: consumer groups, detector cursors, refresh and dead letters, judged.

``judge`` is pure (reads in, a Status and the history to keep out); ``collect`` does the I/O.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from monitor.core.units import MINUTE_MS
from monitor.kafka.clients import kafka_client_options
from monitor.ops.readers import (
    GROUP_TOPICS,
    GroupRead,
    History,
    Progress,
    oldest_waiting_ms,
    read_group,
    read_progress,
)
from monitor.ops.verdict import (
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
from monitor.settings import Settings
from monitor.store.client import make_redis
from monitor.store.keys import DETECT_STEP_MS, Keys

DEADLETTER_WINDOW_MS: Final = 5 * MINUTE_MS


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    partition: str
    committed: int | None
    end: int
    lag: int
    watermark_ms: int | None
    stuck_s: float
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class GroupStatus:
    role: str
    group_id: str
    state: str
    members: list[str]
    lag: int
    partitions: list[PartitionStatus]
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class PartStatus:
    """One other part of the pipeline (a detector, the refresher, the notifier's backlog)."""

    part: str
    detail: dict[str, Any]
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class Status:
    at_ms: int
    watermark_ms: int
    groups: list[GroupStatus]
    parts: list[PartStatus]
    deadletters_5m: dict[str, int]
    deadletters_span_s: float
    verdict: Verdict = field(init=False)

    def __post_init__(self) -> None:
        verdicts = [g.verdict for g in self.groups] + [p.verdict for p in self.parts]
        object.__setattr__(self, "verdict", worst(verdicts))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _group_status(
    group: GroupRead,
    progress: Progress,
    seen: Mapping[str, Seen],
    kept: dict[str, Seen],
    *,
    now_ms: int,
    settings: Settings,
) -> GroupStatus:
    parts = []
    for p in group.partitions:
        key = f"{group.role}|{p.name}"
        committed = p.committed if p.committed is not None else -1
        now_seen = track(seen.get(key), committed=committed, lag=p.lag, now_ms=now_ms)
        kept[key] = now_seen
        stuck_s = (now_ms - now_seen.since_ms) / 1000
        verdict = partition_verdict(
            lag=p.lag, stuck_s=stuck_s, stall_s=settings.stall_s, behind_records=settings.batch_max
        )
        wm = progress.partition_watermarks.get(p.name)
        parts.append(PartitionStatus(p.name, p.committed, p.end, p.lag, wm, stuck_s, verdict))
    verdict = worst(p.verdict for p in parts)
    if verdict.word != "ok":
        bad = [p.partition for p in parts if p.verdict.word == verdict.word]
        verdict = Verdict(verdict.word, f"{', '.join(bad)}: {verdict.reason}")
    members = [f"{m.client_id}@{m.host}" for m in group.members]
    lag = sum(p.lag for p in parts)
    return GroupStatus(group.role, group.group_id, group.state, members, lag, parts, verdict)


def _parts(
    progress: Progress, notifier: GroupStatus | None, oldest_ms: int | None, now_ms: int
) -> list[PartStatus]:
    wm = progress.watermark_ms
    minutes = steps_behind(
        watermark_ms=wm,
        first_ms=progress.first_ms,
        cursor=progress.detect_minute,
        unit_ms=MINUTE_MS,
    )
    steps = steps_behind(
        watermark_ms=wm,
        first_ms=progress.first_ms,
        cursor=progress.detect_step,
        unit_ms=DETECT_STEP_MS,
    )
    refreshed = parse_progress(progress.refreshed)
    out = [
        PartStatus(
            "detect.brands",
            {"cursor_minute": progress.detect_minute, "minutes_behind": minutes},
            detector_verdict(behind=minutes, tolerance=2, unit="minute"),
        ),
        PartStatus(
            "detect.creators",
            {"cursor_step": progress.detect_step, "steps_behind": steps},
            detector_verdict(behind=steps, tolerance=1, unit="step"),
        ),
        PartStatus(
            "refresh",
            {"refreshed_ms": refreshed, "lag_ms": None if refreshed is None else wm - refreshed},
            refresh_verdict(watermark_ms=wm, refreshed_ms=refreshed, tolerance_ms=DETECT_STEP_MS),
        ),
    ]
    if notifier is not None:
        age_s = None if oldest_ms is None else round(max(0.0, (now_ms - oldest_ms) / 1000), 1)
        out.append(
            PartStatus(
                "notifier.backlog",
                {"alerts_waiting": notifier.lag, "oldest_undelivered_age_s": age_s},
                notifier.verdict,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Judged:
    status: Status
    seen: dict[str, Seen]
    snapshots: list[Snapshot]


def judge(
    groups: Sequence[GroupRead],
    progress: Progress,
    *,
    seen: Mapping[str, Seen],
    snapshots: Sequence[Snapshot],
    oldest_alert_ms: int | None,
    now_ms: int,
    settings: Settings,
) -> Judged:
    """Every verdict from one round of reads, and the history the next round needs (pure)."""
    kept: dict[str, Seen] = {}
    statuses = [
        _group_status(g, progress, seen, kept, now_ms=now_ms, settings=settings) for g in groups
    ]
    notifier = next((g for g in statuses if g.role == "notifier"), None)
    snaps = [*snapshots, Snapshot(now_ms, progress.deadletters)]
    recent, span_ms = recent_counts(snaps, now_ms=now_ms, window_ms=DEADLETTER_WINDOW_MS)
    status = Status(
        at_ms=now_ms,
        watermark_ms=progress.watermark_ms,
        groups=statuses,
        parts=_parts(progress, notifier, oldest_alert_ms, now_ms),
        deadletters_5m=recent,
        deadletters_span_s=span_ms / 1000,
    )
    kept_snaps = keep_snapshots(snaps, now_ms=now_ms, window_ms=DEADLETTER_WINDOW_MS)
    return Judged(status, kept, kept_snaps)


async def collect(settings: Settings) -> Status:
    """One round of reads from Kafka and Redis, judged; the history is saved for the next."""
    admin = AIOKafkaAdminClient(**kafka_client_options(settings), request_timeout_ms=30_000)
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), group_id=None, enable_auto_commit=False
    )
    redis = make_redis(settings)
    history = History(redis, Keys(settings.redis_prefix))
    await admin.start()
    await consumer.start()
    try:
        groups = [await read_group(settings, admin, consumer, role) for role in GROUP_TOPICS]
        notifier = next(g for g in groups if g.role == "notifier")
        oldest = await oldest_waiting_ms(consumer, notifier.partitions)
        progress = await read_progress(redis, Keys(settings.redis_prefix))
        judged = judge(
            groups,
            progress,
            seen=await history.seen(),
            snapshots=await history.snapshots(),
            oldest_alert_ms=oldest,
            now_ms=int(time.time() * 1000),
            settings=settings,
        )
        await history.save_seen(judged.seen)
        await history.save_snapshots(judged.snapshots)
        return judged.status
    finally:
        await consumer.stop()
        await admin.close()
        await redis.aclose()
