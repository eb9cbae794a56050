"""Turn a batch of raw Kafka records into a plan: table updates, dead letters and re-keys.

Pure: no I/O. The agent hands records in, the store applies ``BatchPlan.events`` in one atomic
Redis call, and the producer sends ``dead_letters`` and ``rekeyed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.events import (
    Comment,
    EventKind,
    FollowerSnapshot,
    PostSnapshot,
    Rejection,
    decode_event,
    format_time_ms,
)
from schemas.records import MAX_WRITE_BYTES, DeadLetter

EVIDENCE_CHARS = 280
_FUTURE = Rejection("future_timestamp", "more than the tolerance past the watermark")
_UNKEYABLE = Rejection(
    "payload_too_large", f"over {MAX_WRITE_BYTES} bytes with its key: cannot re-key"
)


class MentionMatcher(Protocol):
    def match(self, text: str) -> frozenset[str]: ...


@dataclass(frozen=True, slots=True)
class RawRecord:
    topic: str
    kind: EventKind
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Rekey:
    topic: str
    key: bytes
    value: bytes
    partition: int  # of the source record, which this one replaces
    offset: int


@dataclass(slots=True)
class BatchPlan:
    """What one batch does. ``tps``/``last`` cover every record, dead-lettered ones included."""

    tps: list[str] = field(default_factory=list)
    last: list[int] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    rekeyed: list[Rekey] = field(default_factory=list)
    dead_index: list[dict[str, Any]] = field(default_factory=list)

    def request(self) -> dict[str, Any]:
        """The plan's part of store/lua/apply_batch.lua's JSON request (fields: see ``_op``)."""
        return {"tps": self.tps, "last": self.last, "events": self.events, "dead": self.dead_index}


# The fields of an event op, read by store/lua/apply_batch.lua. One or few letters on purpose:
# they are a large part of each event's bytes to Redis (the benchmarks' bytes per event), so
# they are documented here, not renamed.
#   field  events       meaning
#   k      all          kind: "c" comment, "p" post snapshot, "a" follower (audience) snapshot
#   i      all          1-based index into ``tps`` and ``last``: the record's topic-partition
#   o      all          the record's offset (the offset guard)
#   id     all          event_id (the per-creator, per-day dedup set)
#   cr     all          creator_id
#   pl     all          platform
#   t      all          event time, ms: a comment's creation, a snapshot's observation
#   g      all, if any  community tag
#   s      c            sentiment, compound x 10 000 (core/sentiment.py: SCALE); <= -500 negative,
#                       >= 500 positive
#   cid    c            comment_id (evidence)
#   post   c, p         post_id
#   ct     p            the post's creation time, ms
#   tot    p            the post's interactions when observed (likes + comments + shares)
#   f      a; p if any  followers when observed
#   b      c, p         brands the text mentions, sorted; absent when none
#   x      with b       the text, its first EVIDENCE_CHARS characters (brand evidence)
# A dead letter's entry in ``dead``: ``i`` and ``o`` as above, ``code`` the rejection code.
def _op(
    kind: str, tp: int, rec: RawRecord, ev: PostSnapshot | Comment | FollowerSnapshot
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "k": kind,
        "i": tp + 1,  # Lua arrays start at 1
        "o": rec.offset,
        "id": ev.event_id,
        "cr": ev.creator_id,
        "pl": ev.platform,
        "t": ev.time_ms,
    }
    if ev.community:
        op["g"] = ev.community
    return op


def plan_batch(
    records: Iterable[RawRecord],
    *,
    watermark_ms: int,
    wall_ms: int,
    future_tolerance_ms: int,
    matcher: MentionMatcher,
    sentiment: Callable[[str], int],
) -> BatchPlan:
    """Decode, validate and enrich records (sentiment, brand mentions) into one plan.

    A timestamp more than ``future_tolerance_ms`` past both the watermark and the wall clock is
    refused. Against the watermark alone, a replay's first old events or an upstream outage longer
    than the tolerance would make every later true event "future" and stall the watermark forever.
    """
    # Three passes (decode all; enrich the good; dead-letter the bad) rather than each record
    # all the way: a bad record planned between good ones cost 2.3x what it costs among its
    # own kind (bench/micro.py), the good path's work having pushed the bad one's out of cache.
    plan = BatchPlan()
    tp_index: dict[str, int] = {}
    future_limit = max(watermark_ms, wall_ms) + future_tolerance_ms
    at = format_time_ms(wall_ms)
    rejected: list[tuple[int, RawRecord, Rejection]] = []
    accepted: list[tuple[int, RawRecord, PostSnapshot | Comment | FollowerSnapshot]] = []
    for rec in records:
        tp = f"{rec.topic}:{rec.partition}"
        idx = tp_index.get(tp)
        if idx is None:
            idx = tp_index[tp] = len(plan.tps)
            plan.tps.append(tp)
            plan.last.append(rec.offset)
        elif rec.offset > plan.last[idx]:
            plan.last[idx] = rec.offset
        ev = decode_event(rec.kind, rec.value)
        # a post's created_at is never after its observed_at (decode_event): time_ms is enough
        if not isinstance(ev, Rejection) and ev.time_ms > future_limit:
            ev = _FUTURE
        if isinstance(ev, Rejection):
            rejected.append((idx, rec, ev))
        else:
            accepted.append((idx, rec, ev))
    for idx, rec, ev in accepted:
        if not rec.key:
            # Re-key so every record of a creator shares a partition (and its ordering).
            assert rec.value is not None  # decoded fine, so it had a value
            key = ev.creator_id.encode()
            if len(key) + len(rec.value) > MAX_WRITE_BYTES:
                rejected.append((idx, rec, _UNKEYABLE))
                continue
            plan.rekeyed.append(Rekey(rec.topic, key, rec.value, rec.partition, rec.offset))
            continue
        plan.events.append(_enrich(idx, rec, ev, matcher, sentiment))
    for idx, rec, why in rejected:
        plan.dead_letters.append(dead_letter(rec, why, at))
        plan.dead_index.append({"i": idx + 1, "o": rec.offset, "code": why.code})
    return plan


def _enrich(
    idx: int,
    rec: RawRecord,
    ev: PostSnapshot | Comment | FollowerSnapshot,
    matcher: MentionMatcher,
    sentiment: Callable[[str], int],
) -> dict[str, Any]:
    if isinstance(ev, Comment):
        op = _op("c", idx, rec, ev)
        op["s"] = sentiment(ev.text)
        op["cid"] = ev.comment_id
        op["post"] = ev.post_id
        _mentions(op, ev.text, matcher)
    elif isinstance(ev, PostSnapshot):
        op = _op("p", idx, rec, ev)
        op["post"] = ev.post_id
        op["ct"] = ev.created_ms
        op["tot"] = ev.interactions
        if ev.followers is not None:
            op["f"] = ev.followers
        if ev.text:
            _mentions(op, ev.text, matcher)
    else:
        op = _op("a", idx, rec, ev)
        op["f"] = ev.followers
    return op


def _mentions(op: dict[str, Any], text: str, matcher: MentionMatcher) -> None:
    brands = matcher.match(text)
    if brands:
        op["b"] = sorted(brands)
        op["x"] = text[:EVIDENCE_CHARS]


def dead_letter(rec: RawRecord, why: Rejection, at: str) -> DeadLetter:
    """The dead letter of one input record (bounded in size: schemas/records.py)."""
    return DeadLetter.quoting(rec, code=why.code, reason=why.reason, at=at)
