"""The refresher's pacing and its "refreshed" mark (Redis side: tests/integration/test_tables)."""

from __future__ import annotations

from typing import Any, cast

import pytest

from monitor.store.creators import refreshed_watermark
from monitor.store.leaderboard import Leaderboard, RefreshRound
from monitor.store.refresher import Refresher


class Rounds:
    """Stands in for Leaderboard: scripted rounds, each taking `took` seconds of the clock."""

    def __init__(self, rounds: list[RefreshRound], took: float) -> None:
        self.rounds, self.took, self.now = list(rounds), took, 0.0
        self.marked: list[str] = []

    async def refresh_due(self) -> RefreshRound:
        self.now += self.took
        return self.rounds.pop(0)

    async def mark_refreshed(self, progress: str) -> None:
        self.marked.append(progress)


def _refresher(fake: Rounds, slept: list[float], share: float = 0.25) -> Refresher:
    async def sleep(s: float) -> None:
        slept.append(s)
        fake.now += s

    return Refresher(cast(Leaderboard, fake), share=share, clock=lambda: fake.now, sleep=sleep)


async def test_rounds_are_paced_to_the_share_and_the_progress_marked_once_complete() -> None:
    busy = [RefreshRound("9:5:0", 1000, False), RefreshRound("9:5:0", 1000, False)]
    fake = Rounds([*busy, RefreshRound("9:5:0", 10, True)], took=2.0)
    slept: list[float] = []
    assert await _refresher(fake, slept).run_once() == 2010
    # a quarter of the time refreshing: 2 s of work, then 6 s for everything else
    assert slept == [6.0, 6.0]
    assert fake.marked == ["9:5:0"]


async def test_the_same_progress_is_not_marked_twice_and_an_empty_table_never() -> None:
    rounds = [RefreshRound("9:5:0", 0, True), RefreshRound("9:5:0", 0, True)]
    fake = Rounds([*rounds, RefreshRound("0:0:0", 0, True), RefreshRound("12:6:0", 1, True)], 0.1)
    slept: list[float] = []
    refresher = _refresher(fake, slept)
    for _ in range(4):
        await refresher.run_once()
    assert fake.marked == ["9:5:0", "12:6:0"]
    assert slept == []


@pytest.mark.parametrize("share", [0, -0.5, 1.5])
def test_a_share_outside_zero_to_one_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share"):
        Refresher(cast(Any, None), share=share)


@pytest.mark.parametrize(
    ("progress", "watermark"),
    [(None, 0), ("", 0), ("0", 0), ("1780000000000:512:3", 1780000000000), ("42", 42)],
)
def test_the_refreshed_mark_gives_its_watermark(progress: str | None, watermark: int) -> None:
    assert refreshed_watermark(progress) == watermark
