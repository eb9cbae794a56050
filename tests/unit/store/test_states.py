"""creator_states.lua's arguments and reply, by name (Redis side: tests/integration/test_tables)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.core.metrics import History, PostState, PostWindows
from monitor.core.units import DAY_MS, HOUR_MS
from monitor.store.keys import Keys
from monitor.store.states import SCRIPT_CHUNK, parse_state, state_calls

KEYS = Keys("ns.sm:")
NOW = 20_000 * DAY_MS + 13 * HOUR_MS + 1234
# the field order listed at the head of lua/creator_states.lua
ORDER = (
    *("meta", "newest", "at_24h", "at_7d", "after_24h", "after_7d"),
    *("history", "posts", "hours", "minutes"),
)


def _reply(**fields: Any) -> list[Any]:
    """A reply in the script's order, empty where not given."""
    return [fields.get(name, []) for name in ORDER]


def test_one_call_per_chunk_of_creators_with_the_hash_groups_and_windows() -> None:
    ids = [f"c{i}" for i in range(SCRIPT_CHUNK + 1)]
    calls = state_calls(
        KEYS, ids, NOW, retention_ms=8 * DAY_MS, hours=24, history=False, summed=True
    )
    assert [len(c) - 8 for c in calls] == [SCRIPT_CHUNK, 1]
    head = calls[0][:8]
    assert head[:4] == [NOW, NOW - DAY_MS, NOW - 7 * DAY_MS, NOW - 8 * DAY_MS]
    posts, hours, minutes = head[4].split(";")
    assert posts == ":posts"
    assert hours == ":h:19999,:h:20000"  # the 24 h window reaches into yesterday
    assert minutes == ":m:480012,:m:480013"  # 12:01 .. 13:00
    assert (head[5], head[6]) == (":fs", "")
    last_hour, last_minute = NOW // HOUR_MS, NOW // 60_000
    assert head[7] == f"{last_hour - 23},{last_hour},{last_minute - 59},{last_minute}"
    assert calls[1][8] == KEYS.creator(ids[-1])
    raw = state_calls(KEYS, ids[:1], NOW, retention_ms=DAY_MS, hours=24, history=True, summed=False)
    assert raw[0][7] == ""
    assert raw[0][6] == f"{last_hour - 25},{last_hour - 1}"


def test_a_full_reply_is_read_by_field() -> None:
    state = parse_state(
        "c1",
        _reply(
            meta=["platform", "tiktok", "late", "2"],
            newest=["1000:70"],
            at_24h=["500:60"],
            after_7d=["200:50"],
            history=[3, 9],
            posts=["p1", "10|20|30"],
            hours=[["cm:1", "2"], ["cm:2", "5", "int:2", "-1"]],
            minutes=[["cm:60", "1"]],
        ),
        summed=False,
    )
    assert state.meta == {"platform": "tiktok", "late": "2"}
    assert (state.newest, state.at_24h, state.at_7d) == ((1000, 70), (500, 60), None)
    assert (state.after_24h, state.after_7d) == (None, 200)
    assert state.history == History(negative=3, comments=9)
    assert state.posts == {"p1": PostState(created_ms=10, observed_ms=20, interactions=30)}
    assert state.post_sums is None
    assert state.hours == {"cm:1": 2, "cm:2": 5, "int:2": -1}
    assert state.minutes == {"cm:60": 1}


def test_a_summed_reply_gives_post_sums_and_no_posts() -> None:
    state = parse_state(
        "c1", _reply(posts=[1, 30, 10, 2, 45, -1], hours=[["cm:5", "3"]]), summed=True
    )
    assert state.posts == {}
    assert state.post_sums == PostWindows(
        count_24h=1, interactions_24h=30, oldest_24h=10, count_7d=2, interactions_7d=45
    )
    assert (state.hours, state.minutes, state.history) == ({"cm:5": 3}, {}, None)
    assert not state.known  # no meta and no follower snapshot


def test_a_reply_of_another_shape_is_refused() -> None:
    with pytest.raises(TypeError):
        parse_state("c1", _reply()[:-1], summed=False)
