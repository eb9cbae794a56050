"""A post at an age, and the creator's typical post at that age (pure)."""

from __future__ import annotations

import pytest

from monitor.core.posts import (
    PostHistory,
    age_label,
    interactions_at,
    newest_in_first_day,
    typical_at,
)

H = 3_600_000


def post(pid: str, created: int, *snaps: tuple[int, int]) -> PostHistory:
    return PostHistory(post_id=pid, created_ms=created, snapshots=tuple(snaps))


P = post("p", 0, (H, 400), (6 * H, 750), (20 * H, 1000))


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0, 0.0),
        (H // 2, 200.0),  # from zero at creation to the first snapshot
        (H, 400.0),
        (3 * H + H // 2, 575.0),  # halfway between 1 h and 6 h
        (20 * H, 1000.0),
        (21 * H, None),  # never observed that old
    ],
)
def test_interactions_at_interpolates_between_snapshots(age: int, expected: float | None) -> None:
    assert interactions_at(P, age) == expected


def test_a_snapshot_at_creation_is_its_own_value() -> None:
    assert interactions_at(post("p", 0, (0, 7), (H, 9)), 0) == 7.0


@pytest.mark.parametrize(
    ("refs", "age", "interactions", "posts"),
    [
        ([], H, 0.0, 0),
        ([P], H, 400.0, 1),
        ([P, post("q", 0, (H, 600)), post("v", 0, (H, 40_000))], H, 600.0, 3),  # viral ignored
        ([P, post("q", 0, (H, 600))], 6 * H, 750.0, 1),  # q was never 6 h old
        ([P, post("q", 0, (H, 600))], H, 500.0, 2),  # even count: middle pair
    ],
)
def test_typical_is_the_median_of_the_posts_seen_at_that_age(
    refs: list[PostHistory], age: int, interactions: float, posts: int
) -> None:
    t = typical_at(refs, age)
    assert (t.interactions, t.posts) == (interactions, posts)


@pytest.mark.parametrize(
    ("age", "label"), [(0, "1h"), (H, "1h"), (H + 1, "3h"), (6 * H, "6h"), (23 * H, "24h")]
)
def test_age_label(age: int, label: str) -> None:
    assert age_label(age) == label


def test_newest_in_first_day() -> None:
    assert newest_in_first_day(P) == (20 * H, 1000)
    assert newest_in_first_day(post("p", 0)) is None
    assert newest_in_first_day(post("p", 0, (25 * H, 5))) is None
