"""Issue 21's reproduction: daily posters, one viral post, produced all at once.

30 micro creators over 8 days, one post a day each with snapshots at +1 h, +6 h and +20 h (40 %,
75 %, all of its interactions), a few comments; on the last day one creator's post gets 15x
its usual. Only that post may fire, whether ingest ran 8 days or up to 08:00 of the last day.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
import redis.asyncio as aioredis

from monitor.cli.feed import _wait_detected, read_alerts
from monitor.core.units import DAY_MS, HOUR_MS
from monitor.kafka.topics import create_topics
from monitor.settings import Settings
from monitor.sim.events import comment, post_snapshot
from monitor.sim.produce import produce_events
from monitor.store.keys import DETECT_STEP_MS
from schemas.events import parse_time_ms

pytestmark = pytest.mark.integration

START = 1_793_577_600_000  # 2026-11-02T00:00:00Z
DAYS = 8
VIRAL = "instagram:m00"
VIRAL_AT = START + (DAYS - 1) * DAY_MS + 6 * HOUR_MS
SHAPE = ((HOUR_MS, 0.4), (6 * HOUR_MS, 0.75), (20 * HOUR_MS, 1.0))


def _daily_posters(cut_ms: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(21)
    events: list[tuple[int, str, dict[str, Any]]] = []
    for i in range(30):
        cid = f"instagram:m{i:02d}"
        followers, rate = rng.randrange(5_000, 50_000), rng.uniform(0.01, 0.05)
        hour = 6 if cid == VIRAL else rng.randrange(24)
        for day in range(DAYS):
            created = START + day * DAY_MS + hour * HOUR_MS
            final = followers * rate * rng.lognormvariate(0.0, 0.25)
            if cid == VIRAL and created == VIRAL_AT:
                final *= 15
            for age, share in SHAPE:
                n = int(final * share)
                post = post_snapshot(
                    event_id=f"p-{cid}-{day}-{age}",
                    post_id=f"{cid[-3:]}-{day}",
                    creator_id=cid,
                    created_ms=created,
                    at_ms=created + age,
                    counts=(n * 8 // 10, n // 10, n // 10),
                    text="my daily post",
                    community="travel",
                    followers=followers,
                )
                events.append((created + age, "social.posts", post))
            for k in range(3):
                at = created + rng.randrange(20 * HOUR_MS) // 1000 * 1000
                text = rng.choice(("love this", "great post", "nice one"))
                c = comment(
                    event_id=f"c-{cid}-{day}-{k}",
                    comment_id=f"{cid}-{day}-{k}",
                    post_id=f"{cid[-3:]}-{day}",
                    creator_id=cid,
                    author_id=f"instagram:fan{rng.randrange(10**6)}",
                    text=text,
                    at_ms=at,
                    community="travel",
                )
                events.append((at, "social.comments", c))
    events.sort(key=lambda e: (e[0], e[2]["event_id"]))
    return [(topic, e) for t, topic, e in events if t <= cut_ms]


@pytest.mark.parametrize(
    "cut_ms",
    [START + DAYS * DAY_MS, START + (DAYS - 1) * DAY_MS + 8 * HOUR_MS],
    ids=["all 8 days", "cut at 08:00 of the last day"],
)
async def test_only_the_viral_post_fires(
    settings: Settings, redis: aioredis.Redis, spawn: Any, cut_ms: int
) -> None:
    await create_topics(settings)
    spawn("worker", extra_env={"MONITOR_PARTITION_IDLE_S": "1"})
    await produce_events(settings, _daily_posters(cut_ms))
    await _wait_detected(settings, 240)
    alerts = await read_alerts(settings)
    fired = [a for a in alerts if a["type"] == "engagement_spike" and a["status"] == "firing"]
    assert {a["creator_id"] for a in fired} == {VIRAL}, [a["summary"] for a in fired]
    first = fired[0]
    # flagged in the step that holds its first snapshot (+1 h)
    step_end = ((VIRAL_AT + HOUR_MS) // DETECT_STEP_MS + 1) * DETECT_STEP_MS
    assert parse_time_ms(first["event_time"]) == step_end
    top = first["evidence"]["top_posts"][0]
    assert (top["post_id"], top["age_min"], top["references"]) == ("m00-7", 60, 7)
    assert top["ratio"] > 10
    assert first["window"] == "1h"
