"""BatchSender's partition choice: Kafka's keyed choice, remembered, within a bound."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from monitor.kafka import sender as batch_sender
from monitor.kafka.sender import BatchSender
from monitor.settings import load_settings


def _kafka(key: bytes, n: int) -> int:
    return int(DefaultPartitioner()(key, list(range(n)), None))


def test_the_remembered_partition_is_the_one_kafka_picks_for_the_key() -> None:
    sender = BatchSender(load_settings(environ={}))
    rng = random.Random(7)
    keys = [rng.randbytes(rng.randrange(1, 40)) for _ in range(500)]
    for n in (1, 3, 8, 12):
        partitions = tuple(range(n))
        for _ in range(2):  # the second pass answers from the memo
            for key in keys:
                assert sender.partition_for(key, partitions) == _kafka(key, n)


def test_a_key_is_remembered_per_partition_set() -> None:
    sender = BatchSender(load_settings(environ={}))
    key = next(k for k in (f"creator{i}".encode() for i in range(100)) if _kafka(k, 8) != 0)
    assert sender.partition_for(key, tuple(range(8))) == _kafka(key, 8)
    assert sender.partition_for(key, (0,)) == 0  # not the answer remembered for 8 partitions
    assert sender.partition_for(key, tuple(range(8))) == _kafka(key, 8)


def test_a_key_less_record_may_go_to_any_partition() -> None:
    sender = BatchSender(load_settings(environ={}))
    seen = {sender.partition_for(None, tuple(range(8))) for _ in range(400)}
    assert len(seen) > 1
    assert seen <= set(range(8))


def test_the_memo_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    sender = BatchSender(load_settings(environ={}))
    limit = 100
    monkeypatch.setattr(batch_sender, "PARTITION_MEMO_MAX", limit)
    for i in range(5 * limit):
        sender.partition_for(f"creator{i}".encode(), (0, 1, 2))
    assert len(sender._memo) <= limit


async def test_a_stopped_sender_refuses_rather_than_starting_a_new_producer() -> None:
    sender = BatchSender(load_settings(environ={}))
    await sender.send_many([])  # nothing to send: no producer started
    await sender.stop()
    with pytest.raises(batch_sender.SenderStoppedError):
        await sender.send_many([("t", b"k", b"v")])
