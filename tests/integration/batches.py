"""Contract events applied straight through the real plan and Lua apply (no Kafka, no worker)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from monitor.brands.matching import BrandMatcher
from monitor.core.units import DAY_MS
from monitor.ingest.plan import RawRecord, plan_batch
from monitor.store.apply import BatchResult, TableStore
from schemas.events import TOPIC_KIND, EventKind, format_time_ms

T0 = 1_795_168_800_000  # 2026-11-20T10:00:00Z, an hour boundary
TOPIC = {kind: topic for topic, kind in TOPIC_KIND.items()}


class Batches:
    """Builds events as Kafka records (offsets counted per topic) and applies them as batches."""

    def __init__(
        self,
        store: TableStore,
        *,
        matcher: BrandMatcher | None = None,
        sentiment: Callable[[str], int] = lambda _: 500,
    ) -> None:
        self._store = store
        self._matcher = matcher or BrandMatcher({})
        self._sentiment = sentiment
        self._offsets: dict[str, int] = {}

    def comment(
        self,
        creator: str,
        t_ms: int,
        *,
        text: str = "love it",
        post_id: str = "p1",
        community: str | None = None,
    ) -> RawRecord:
        offset = self._offsets.get("comment", 0)
        event = {
            "event_id": f"{creator}-c{offset}",
            "platform": creator.partition(":")[0],
            "comment_id": f"{creator}-c{offset}",
            "post_id": post_id,
            "creator_id": creator,
            "text": text,
            "created_at": format_time_ms(t_ms),
        }
        return self._record("comment", event, community)

    def post(
        self,
        creator: str,
        post_id: str,
        created_ms: int,
        observed_ms: int,
        *,
        likes: int,
        followers: int | None = None,
        text: str | None = None,
        community: str | None = None,
    ) -> RawRecord:
        """A post snapshot: ``likes`` plus 3 comments and 1 share of interactions."""
        event: dict[str, Any] = {
            "event_id": f"{creator}-{post_id}-{observed_ms}",
            "platform": creator.partition(":")[0],
            "post_id": post_id,
            "creator_id": creator,
            "created_at": format_time_ms(created_ms),
            "observed_at": format_time_ms(observed_ms),
            "likes": likes,
            "comments": 3,
            "shares": 1,
        }
        if followers is not None:
            event["followers"] = followers
        if text is not None:
            event["text"] = text
        return self._record("post", event, community)

    def audience(
        self, creator: str, t_ms: int, followers: int, *, community: str | None = None
    ) -> RawRecord:
        event = {
            "event_id": f"{creator}-a{t_ms}",
            "platform": creator.partition(":")[0],
            "creator_id": creator,
            "followers": followers,
            "observed_at": format_time_ms(t_ms),
        }
        return self._record("audience", event, community)

    def _record(self, kind: EventKind, event: dict[str, Any], community: str | None) -> RawRecord:
        if community is not None:
            event["community"] = community
        offset = self._offsets.get(kind, 0)
        self._offsets[kind] = offset + 1
        return RawRecord(
            topic=TOPIC[kind],
            kind=kind,
            partition=0,
            offset=offset,
            key=event["creator_id"].encode(),
            value=orjson.dumps(event),
        )

    async def apply(self, records: Iterable[RawRecord]) -> BatchResult:
        """One batch through plan_batch and apply_batch.lua, as the worker applies it."""
        plan = plan_batch(
            records,
            watermark_ms=0,
            wall_ms=T0 + DAY_MS,
            future_tolerance_ms=DAY_MS,
            matcher=self._matcher,
            sentiment=self._sentiment,
        )
        assert not plan.dead_letters, plan.dead_letters
        return await self._store.apply(plan)
