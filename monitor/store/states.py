"""Creators' stored state as creator_states.lua reads it: the call's arguments and its reply (pure).

The script's reply is positional (Redis replies have no names); the named tuples below are the
one place that order is spelled, matching the list at the head of lua/creator_states.lua.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from monitor.core.metrics import CreatorState, History, PostState, PostWindows
from monitor.core.units import DAY_MS
from monitor.core.windows import (
    days_for_hours,
    history_hours,
    hour_window,
    hours_for_minutes,
    minute_window,
)
from monitor.store.keys import Keys, followers_zset, hour_hash, minute_hash, posts_hash

# Creators per script call: one call holds Redis for a few milliseconds, not more.
SCRIPT_CHUNK: Final = 250


class StateReply(NamedTuple):
    """One creator's reply from creator_states.lua, in the order the script returns it."""

    meta: list[str]  # flat hash: field, value, ...
    newest: list[Any]  # follower snapshots: 0 or 1 "observed_ms:followers" members
    at_24h: list[Any]
    at_7d: list[Any]
    after_24h: list[Any]
    after_7d: list[Any]
    history: list[int]  # HistoryReply, or empty when not asked for
    posts: list[Any]  # flat posts hash, or PostSumsReply when summed
    hours: list[list[Any]]  # flat hour hashes (one, the window sums, when summed)
    minutes: list[list[Any]]  # flat minute hashes (one, the window sums, when summed)


class HistoryReply(NamedTuple):
    """The detectors' history sums (``History``)."""

    negative: int
    comments: int


class PostSumsReply(NamedTuple):
    """Posts created in the last 24 h and 7 d (``PostWindows``); an ``oldest`` of -1 is none."""

    count_24h: int
    interactions_24h: int
    oldest_24h: int
    count_7d: int
    interactions_7d: int
    oldest_7d: int


def state_calls(
    keys: Keys,
    creator_ids: Sequence[str],
    now_ms: int,
    *,
    retention_ms: int,
    hours: int,
    history: bool,
    summed: bool,
) -> list[list[Any]]:
    """creator_states.lua's argument lists: one per ``SCRIPT_CHUNK`` creators."""
    h24, m60 = hour_window(now_ms, 24), minute_window(now_ms, 60)
    days = days_for_hours(h24 if summed else hour_window(now_ms, hours))
    minute_hours = hours_for_minutes(m60)
    suffixes = ";".join(
        [
            posts_hash(""),
            ",".join(hour_hash("", d) for d in days),
            ",".join(minute_hash("", h) for h in minute_hours),
        ]
    )
    spec = ""
    if history:
        before = history_hours(now_ms)
        spec = f"{before.start},{before.stop}"
    windows = f"{h24.start},{h24.stop - 1},{m60.start},{m60.stop - 1}" if summed else ""
    head: list[Any] = [
        now_ms,
        now_ms - DAY_MS,
        now_ms - 7 * DAY_MS,
        now_ms - retention_ms,
        suffixes,
        followers_zset(""),
        spec,
        windows,
    ]
    return [
        [*head, *(keys.creator(c) for c in creator_ids[i : i + SCRIPT_CHUNK])]
        for i in range(0, len(creator_ids), SCRIPT_CHUNK)
    ]


def parse_state(creator_id: str, raw: list[Any], *, summed: bool) -> CreatorState:
    """One creator's ``CreatorState`` from its reply (``summed`` as the call was made)."""
    reply = StateReply(*raw)
    return CreatorState(
        creator_id=creator_id,
        meta=_pairs(reply.meta),
        newest=_snapshot(reply.newest),
        at_24h=_snapshot(reply.at_24h),
        at_7d=_snapshot(reply.at_7d),
        after_24h=_snapshot_time(reply.after_24h),
        after_7d=_snapshot_time(reply.after_7d),
        posts={} if summed else {p: _post(v) for p, v in _pairs(reply.posts).items()},
        post_sums=_post_sums(PostSumsReply(*reply.posts)) if summed else None,
        hours=_merged(reply.hours),
        minutes=_merged(reply.minutes),
        history=_history(HistoryReply(*reply.history)) if reply.history else None,
    )


def snapshot_member(member: str) -> tuple[int, int]:
    """``(observed_ms, followers)`` of a follower zset member ``"observed_ms:followers"``."""
    t, _, f = member.partition(":")
    return int(t), int(f)


def _pairs(flat: list[Any]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _merged(hashes: list[list[Any]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for flat in hashes:
        if flat:
            merged.update(zip(flat[::2], map(int, flat[1::2]), strict=True))
    return merged


def _snapshot(raw: list[Any]) -> tuple[int, int] | None:
    if not raw:
        return None
    member = raw[0][0] if isinstance(raw[0], (list, tuple)) else raw[0]
    return snapshot_member(str(member))


def _snapshot_time(raw: list[Any]) -> int | None:
    snap = _snapshot(raw)
    return None if snap is None else snap[0]


def _post(raw: str) -> PostState:
    created, observed, total = raw.split("|")
    return PostState(created_ms=int(created), observed_ms=int(observed), interactions=int(total))


def _post_sums(sums: PostSumsReply) -> PostWindows:
    return PostWindows(
        count_24h=sums.count_24h,
        interactions_24h=sums.interactions_24h,
        oldest_24h=None if sums.oldest_24h < 0 else sums.oldest_24h,
        count_7d=sums.count_7d,
        interactions_7d=sums.interactions_7d,
        oldest_7d=None if sums.oldest_7d < 0 else sums.oldest_7d,
    )


def _history(sums: HistoryReply) -> History:
    return History(negative=sums.negative, comments=sums.comments)
