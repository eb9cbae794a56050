"""BatchSender on the real broker: every record once, in order per key, on the keyed partition."""

from __future__ import annotations

import pytest

from monitor.kafka.sender import BATCH_BYTES, BatchSender
from monitor.kafka.topics import create_topics
from monitor.settings import Settings
from tests.helpers import produce, read_topic

pytestmark = pytest.mark.integration


async def test_records_land_once_in_order_on_the_partition_a_keyed_send_picks(
    settings: Settings,
) -> None:
    await create_topics(settings)
    sender = BatchSender(settings)
    dl, posts = settings.topic("monitor.deadletter"), settings.topic("social.posts")
    big = b"x" * (BATCH_BYTES + 1000)  # larger than a batch: sent on its own
    records: list[tuple[str, bytes | None, bytes]] = [
        (dl, f"creator{i % 37}".encode(), f"v{i}".encode()) for i in range(3000)
    ]
    records += [(dl, None, b"no key"), (dl, b"creator5", big), (posts, b"creator5", b"rekeyed")]
    try:
        await sender.send_many(records)
        await sender.send_many([(dl, b"creator5", b"after")])
    finally:
        await sender.stop()
    # where a plain keyed send puts the same keys
    await produce(settings, [("social.comments", f"creator{i}".encode(), b"") for i in range(37)])
    expected = {r.key: r.partition for r in await read_topic(settings, "social.comments")}

    got = await read_topic(settings, "monitor.deadletter")
    assert sorted(r.value for r in got) == sorted([v for _, _, v in records[:-1]] + [b"after"])
    for r in got:
        if r.key is not None:
            assert r.partition == expected[r.key], r.key
    in_order = [r.value for r in got if r.key == b"creator5"]
    assert in_order == [v for t, k, v in records if t == dl and k == b"creator5"] + [b"after"]
    (rekeyed,) = await read_topic(settings, "social.posts")
    assert (rekeyed.key, rekeyed.partition) == (b"creator5", expected[b"creator5"])
