"""IngestPipeline around the plan: one bad record costs one dead letter, sends are bounded.

The store and the sender are in-memory stand-ins at the very edge (tests/integration covers the
real ones): the store fails a plan holding a poison event as a Lua error would, the sender
refuses records over a broker limit as Kafka does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from redis.exceptions import ResponseError

from monitor.ingest.pipeline import IngestPipeline, Outgoing
from monitor.ingest.plan import BatchPlan, RawRecord
from monitor.settings import load_settings
from monitor.store.apply import BatchResult

COMMENTS = "social.comments"


class NoBrands:
    def match(self, text: str) -> frozenset[str]:
        return frozenset()


class MemoryStore:
    """Applies plans under an offset guard; a plan with a ``poison`` event fails whole."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.dead: Counter[str] = Counter()
        self.offsets: dict[str, int] = {}
        self.calls = 0

    async def watermark(self) -> int:
        return 0

    async def apply(self, plan: BatchPlan) -> BatchResult:
        self.calls += 1
        if any(e["id"].startswith("poison") for e in plan.events):
            raise ResponseError("user_script:1: WRONGTYPE Operation against a key")
        offs = [self.offsets.get(tp, -1) for tp in plan.tps]
        fresh = [e for e in plan.events if e["o"] > offs[e["i"] - 1]]
        self.applied.extend(e["id"] for e in fresh)
        self.dead.update(d["code"] for d in plan.dead_index if d["o"] > offs[d["i"] - 1])
        for tp, last, off in zip(plan.tps, plan.last, offs, strict=True):
            self.offsets[tp] = max(last, off)
        return BatchResult(0, len(fresh), 0, 0, [], [])


class MemorySender:
    """Keeps what it was sent; refuses (as Kafka does) any record over ``limit`` bytes."""

    def __init__(self, limit: int = 10**9, outages: int = 0) -> None:
        self.sent: list[Outgoing] = []
        self.limit = limit
        self.outages = outages

    async def send_many(self, records: Sequence[Outgoing]) -> None:
        if self.outages:
            self.outages -= 1
            raise KafkaConnectionError("broker away")
        for _, key, value in records:
            if len(value) + len(key or b"") > self.limit:
                raise MessageSizeTooLargeError("too large")
        self.sent.extend(records)

    def letters(self) -> list[dict[str, Any]]:
        return [orjson.loads(v) for t, _, v in self.sent if t.endswith("monitor.deadletter")]


def crashing_sentiment(text: str) -> int:
    if text == "crash":
        raise ValueError("sentiment blew up")
    return 0


def comment(n: int, *, event_id: str = "", text: str = "hi") -> RawRecord:
    value = {
        "event_id": event_id or f"c-{n}",
        "platform": "ig",
        "creator_id": f"ig:{n % 3}",
        "comment_id": f"c{n}",
        "post_id": "p",
        "text": text,
        "created_at": "2026-11-20T10:00:00Z",
    }
    return RawRecord(
        COMMENTS, "comment", n % 2, n, f"ig:{n % 3}".encode(), json.dumps(value).encode()
    )


def pipeline(store: MemoryStore, sender: MemorySender) -> IngestPipeline:
    return IngestPipeline(
        settings=load_settings(environ={"MONITOR_FUTURE_TOLERANCE_S": str(10**9)}),
        store=store,  # type: ignore[arg-type]  # the in-memory stand-in
        sender=sender,
        matcher=NoBrands,
        sentiment=crashing_sentiment,
    )


def batch(records: list[RawRecord]) -> list[RawRecord]:
    """In reader order: partition by partition, offsets rising."""
    return sorted(records, key=lambda r: (r.partition, r.offset))


@pytest.mark.parametrize(
    ("poison", "stage"),
    [
        (comment(7, event_id="poison-7"), "apply: ResponseError: user_script:1: WRONGTYPE"),
        (comment(7, text="crash"), "plan: ValueError: sentiment blew up"),
    ],
    ids=["apply fails", "plan fails"],
)
async def test_one_bad_record_costs_one_dead_letter(poison: RawRecord, stage: str) -> None:
    store, sender = MemoryStore(), MemorySender()
    records = batch([*(comment(n) for n in range(40) if n != 7), poison])
    await pipeline(store, sender).process(records)
    assert sorted(store.applied) == sorted(f"c-{n}" for n in range(40) if n != 7)
    (letter,) = sender.letters()
    assert (letter["code"], letter["offset"], letter["partition"]) == ("internal_error", 7, 1)
    assert letter["reason"].startswith(f"internal_error: {stage}")
    assert store.dead == {"internal_error": 1}  # counted once, as it reached the topic
    assert store.offsets == {f"{COMMENTS}:0": 38, f"{COMMENTS}:1": 39}


async def test_dead_letters_of_a_bisected_batch_are_sent_once() -> None:
    store, sender = MemoryStore(), MemorySender()
    garbage = [RawRecord(COMMENTS, "comment", 0, n, b"k", b"{") for n in (100, 101)]
    await pipeline(store, sender).process(
        batch([*garbage, comment(2), comment(4, event_id="poison-4")])
    )
    codes = Counter(d["code"] for d in sender.letters())
    assert codes == {"invalid_json": 2, "internal_error": 1}
    assert store.dead == codes
    assert store.applied == ["c-2"]


async def test_a_good_batch_is_one_apply() -> None:
    store, sender = MemoryStore(), MemorySender()
    await pipeline(store, sender).process(batch([comment(n) for n in range(10)]))
    assert (store.calls, sender.sent) == (1, [])


async def test_dead_letters_a_broker_refuses_as_too_large_are_cut_not_retried() -> None:
    store, sender = MemoryStore(), MemorySender(limit=50_000)
    huge = RawRecord(COMMENTS, "comment", 0, 5, b"k", b"\x01" * 200_000)
    await pipeline(store, sender).process([huge])
    (letter,) = sender.letters()
    assert (letter["code"], letter["truncated"], letter["payload_bytes"]) == (
        "invalid_json",
        True,
        200_000,
    )
    assert store.dead == {"invalid_json": 1}


async def test_a_broker_outage_is_waited_out() -> None:
    store, sender = MemoryStore(), MemorySender(outages=2)
    await pipeline(store, sender).process([RawRecord(COMMENTS, "comment", 0, 5, b"k", b"{")])
    assert [d["code"] for d in sender.letters()] == ["invalid_json"]
