"""The ingest reader's pure parts: records for the pipeline, commit points, owned partitions."""

from __future__ import annotations

from aiokafka import ConsumerRecord, TopicPartition

from monitor.ingest.reader import commit_points, owned_only, to_raw
from schemas.events import EventKind


def _rec(topic: str, partition: int, offset: int, value: bytes = b"{}") -> ConsumerRecord:
    return ConsumerRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"ig:a",
        value=value,
        checksum=None,
        serialized_key_size=4,
        serialized_value_size=len(value),
        headers=(),
    )


POSTS, COMMENTS = TopicPartition("ns.social.posts", 0), TopicPartition("ns.social.comments", 2)
KINDS: dict[str, EventKind] = {"ns.social.posts": "post", "ns.social.comments": "comment"}


def test_records_keep_their_position_kind_key_and_value_in_fetch_order() -> None:
    fetched = {
        POSTS: [_rec(POSTS.topic, 0, 7, b"a"), _rec(POSTS.topic, 0, 8, b"b")],
        COMMENTS: [_rec(COMMENTS.topic, 2, 3, b"c")],
    }
    raw = to_raw(fetched, KINDS)
    assert [(r.topic, r.kind, r.partition, r.offset, r.key, r.value) for r in raw] == [
        ("ns.social.posts", "post", 0, 7, b"ig:a", b"a"),
        ("ns.social.posts", "post", 0, 8, b"ig:a", b"b"),
        ("ns.social.comments", "comment", 2, 3, b"ig:a", b"c"),
    ]


def test_commit_points_are_one_past_each_partitions_last_record() -> None:
    fetched = {
        POSTS: [_rec(POSTS.topic, 0, o) for o in (7, 8, 9)],
        COMMENTS: [_rec(COMMENTS.topic, 2, 0)],
        TopicPartition("ns.social.audience", 1): [],
    }
    assert commit_points(fetched) == {POSTS: 10, COMMENTS: 1}


def test_partitions_no_longer_owned_are_left_to_their_new_owner() -> None:
    fetched = {POSTS: [_rec(POSTS.topic, 0, 1)], COMMENTS: [_rec(COMMENTS.topic, 2, 5)]}
    assert owned_only(fetched, {COMMENTS, TopicPartition("other", 0)}) == {
        COMMENTS: fetched[COMMENTS]
    }
    assert owned_only(fetched, set()) == {}
