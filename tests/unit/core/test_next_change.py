"""``next_change_ms``: a creator's metrics cannot change before it, with no new event.

Leaderboards skip a creator until then, so a time it gets wrong (too late) leaves a stale entry.
Each case builds a creator's whole stored state, narrows it the way ``Tables.creator_states``
reads it at a watermark, and checks the metrics at many watermarks before the promised change.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from monitor.core.metrics import CreatorState, PostState, TierBands, creator_metrics, next_change_ms
from monitor.core.units import DAY_MS, HOUR_MS, MINUTE_MS
from monitor.core.windows import days_for_hours, hour_window, hours_for_minutes, minute_window

RETENTION_MS = 8 * DAY_MS
START = 1_795_168_800_000
BANDS = TierBands()


@dataclass
class Stored:
    minutes: dict[str, int]
    hours: dict[str, int]
    posts: dict[str, PostState]
    snapshots: list[tuple[int, int]]

    def at(self, now: int) -> CreatorState:
        """What creator_states returns at this watermark (same windows, same bounds)."""
        minute_hours = set(hours_for_minutes(minute_window(now, 60)))
        days = set(days_for_hours(hour_window(now, 24)))
        horizon = now - RETENTION_MS

        def newest(bound: int) -> tuple[int, int] | None:
            inside = [s for s in self.snapshots if horizon <= s[0] <= bound]
            return max(inside) if inside else None

        def oldest_after(bound: int) -> int | None:
            after = [s[0] for s in self.snapshots if s[0] > bound]
            return min(after) if after else None

        return CreatorState(
            creator_id="instagram:x",
            meta={"platform": "instagram"},
            newest=newest(now),
            at_24h=newest(now - DAY_MS),
            at_7d=newest(now - 7 * DAY_MS),
            after_24h=oldest_after(now - DAY_MS),
            after_7d=oldest_after(now - 7 * DAY_MS),
            posts=self.posts,
            hours={k: v for k, v in self.hours.items() if _idx(k) * HOUR_MS // DAY_MS in days},
            minutes={k: v for k, v in self.minutes.items() if _idx(k) // 60 in minute_hours},
        )


def _idx(field: str) -> int:
    return int(field.rpartition(":")[2])


def _stored(rng: random.Random, now: int) -> Stored:
    """Up to ``now``: sparse minute, hour, post and snapshot data of the last ~9 days."""
    minutes: dict[str, int] = {}
    hours: dict[str, int] = {}
    for _ in range(rng.randint(0, 12)):
        t = now - rng.randint(0, 3 * HOUR_MS)
        for metric in rng.sample(["int", "cm", "ss", "pos", "neg", "neu", "mn:acme"], 3):
            minutes[f"{metric}:{t // MINUTE_MS}"] = rng.randint(1, 9)
    for _ in range(rng.randint(0, 12)):
        t = now - rng.randint(0, 3 * DAY_MS)
        for metric in rng.sample(["int", "cm", "ss", "pos", "neg", "neu", "mn:acme"], 3):
            hours[f"{metric}:{t // HOUR_MS}"] = rng.randint(1, 9)
    posts = {
        f"p{i}": PostState(
            created_ms=(c := now - rng.randint(0, 9 * DAY_MS)),
            observed_ms=c,
            interactions=rng.randint(0, 500),
        )
        for i in range(rng.randint(0, 5))
    }
    snapshots = sorted(
        {
            (now - rng.randint(0, 10 * DAY_MS), rng.randint(500, 5000))
            for _ in range(rng.randint(0, 6))
        }
    )
    return Stored(minutes, hours, posts, snapshots)


def _metrics(state: CreatorState, now: int) -> dict[str, Any]:
    doc = creator_metrics(state, now, BANDS)
    del doc["as_of_ms"]
    return doc


@pytest.mark.parametrize("seed", range(400))
def test_metrics_hold_until_the_promised_change(seed: int) -> None:
    rng = random.Random(seed)
    now = START + rng.randint(0, DAY_MS)
    stored = _stored(rng, now)
    at_now = _metrics(stored.at(now), now)
    change = next_change_ms(stored.at(now), now, RETENTION_MS)
    assert change is None or change > now
    end = now + 11 * DAY_MS if change is None else change
    probes = {now + 1, end - 1, *(rng.randint(now, end - 1) for _ in range(20))}
    for t in sorted(probes):
        assert _metrics(stored.at(t), t) == at_now, f"changed at {t - now} ms, promised {change}"


def test_each_kind_of_data_sets_its_own_change_time() -> None:
    now = START + 30 * MINUTE_MS
    m = now // MINUTE_MS
    empty = Stored({}, {}, {}, [])
    assert next_change_ms(empty.at(now), now, RETENTION_MS) is None
    minute = Stored({f"cm:{m - 10}": 1}, {}, {}, [])
    assert next_change_ms(minute.at(now), now, RETENTION_MS) == (m - 10 + 60) * MINUTE_MS
    post = Stored({}, {}, {"p": PostState(created_ms=now - 5, observed_ms=now, interactions=1)}, [])
    assert next_change_ms(post.at(now), now, RETENTION_MS) == now - 5 + DAY_MS
    snap = Stored({}, {}, {}, [(now - 1000, 10)])
    assert next_change_ms(snap.at(now), now, RETENTION_MS) == now - 1000 + DAY_MS
