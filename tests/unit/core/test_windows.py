"""Window arithmetic over event-time buckets: exact spans, bucket coverage, sums."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.core.units import DAY_MS, HOUR_MS, MINUTE_MS
from monitor.core.windows import (
    bucket_range,
    days_for_hours,
    hour_window,
    hours_for_minutes,
    in_window,
    minute_window,
    window_sum,
)

T0 = 1_795_168_800_000  # 2026-11-20T10:00:00Z, on an hour boundary
TIMES = st.integers(-50 * DAY_MS, 200 * 365 * DAY_MS)  # before and after the epoch


@pytest.mark.parametrize(
    ("now", "size", "count", "want"),
    [
        (0, MINUTE_MS, 1, range(0, 1)),
        (59_999, MINUTE_MS, 1, range(0, 1)),
        (60_000, MINUTE_MS, 1, range(1, 2)),
        (60_000, MINUTE_MS, 60, range(-58, 2)),
        (-1, MINUTE_MS, 2, range(-2, 0)),
        (T0, MINUTE_MS, 60, range(T0 // MINUTE_MS - 59, T0 // MINUTE_MS + 1)),
        (T0 - 1, MINUTE_MS, 60, range(T0 // MINUTE_MS - 60, T0 // MINUTE_MS)),
        (T0, HOUR_MS, 24, range(T0 // HOUR_MS - 23, T0 // HOUR_MS + 1)),
        (T0 + HOUR_MS - 1, HOUR_MS, 24, range(T0 // HOUR_MS - 23, T0 // HOUR_MS + 1)),
        (T0, HOUR_MS, 168, range(T0 // HOUR_MS - 167, T0 // HOUR_MS + 1)),
        (T0, DAY_MS, 8, range(T0 // DAY_MS - 7, T0 // DAY_MS + 1)),
        (T0, HOUR_MS, 0, range(T0 // HOUR_MS + 1, T0 // HOUR_MS + 1)),
    ],
)
def test_bucket_range(now: int, size: int, count: int, want: range) -> None:
    assert bucket_range(now, size, count) == want


def test_named_windows() -> None:
    assert minute_window(T0, 60) == bucket_range(T0, MINUTE_MS, 60)
    assert hour_window(T0, 24) == bucket_range(T0, HOUR_MS, 24)
    assert len(minute_window(T0 + 12_345, 60)) == 60
    assert len(hour_window(T0 + 12_345, 168)) == 168


# A 1 h window is exact to the minute (contract "Time"): the buckets of the 60 minutes ending with
# the one that holds now.
@pytest.mark.parametrize(
    ("t", "now", "inside"),
    [
        (T0, T0, True),
        (T0 - 59 * MINUTE_MS, T0, True),
        (T0 - 59 * MINUTE_MS - 1, T0, False),
        (T0 - 60 * MINUTE_MS, T0, False),
        (T0 + 59_999, T0, True),  # same minute as now, even if a little later
        (T0 + 60_000, T0, False),
        (T0 - 59 * MINUTE_MS, T0 + 59_999, True),
        (T0 - 60 * MINUTE_MS + 59_999, T0 + 59_999, False),
    ],
)
def test_one_hour_window_edges(t: int, now: int, inside: bool) -> None:
    assert (t // MINUTE_MS in minute_window(now, 60)) is inside


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(t=TIMES, now=TIMES)
def test_property_one_hour_window_is_exact_to_the_minute(t: int, now: int) -> None:
    inside = now // MINUTE_MS - 59 <= t // MINUTE_MS <= now // MINUTE_MS
    assert (t // MINUTE_MS in minute_window(now, 60)) is inside


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(t=TIMES, now=TIMES, hours=st.sampled_from([1, 24, 7 * 24]))
def test_property_hour_window_snaps_its_start_to_the_next_hour_boundary(
    t: int, now: int, hours: int
) -> None:
    # Covered span: [first hour boundary after now - length, end of now's hour).
    start = ((now - hours * HOUR_MS) // HOUR_MS + 1) * HOUR_MS
    end = (now // HOUR_MS + 1) * HOUR_MS
    assert (t // HOUR_MS in hour_window(now, hours)) is (start <= t < end)
    # so the window is never longer than asked, and loses less than an hour at its start
    assert now - hours * HOUR_MS < start <= now - (hours - 1) * HOUR_MS


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(now=TIMES, size=st.sampled_from([MINUTE_MS, HOUR_MS, DAY_MS]), count=st.integers(1, 400))
def test_property_bucket_range_is_count_consecutive_buckets_ending_at_now(
    now: int, size: int, count: int
) -> None:
    r = bucket_range(now, size, count)
    assert len(r) == count
    assert r.step == 1
    assert r[-1] == now // size
    assert r[-1] * size <= now < (r[-1] + 1) * size


@pytest.mark.parametrize(
    ("hours", "days"),
    [
        (range(0), range(0)),
        (range(0, 1), range(0, 1)),
        (range(0, 24), range(0, 1)),
        (range(0, 25), range(0, 2)),
        (range(23, 25), range(0, 2)),
        (range(-1, 1), range(-1, 1)),
        (hour_window(T0, 24), range(T0 // DAY_MS - 1, T0 // DAY_MS + 1)),
        (hour_window(T0, 168), range(T0 // DAY_MS - 7, T0 // DAY_MS + 1)),
    ],
)
def test_days_for_hours(hours: range, days: range) -> None:
    assert days_for_hours(hours) == days


@pytest.mark.parametrize(
    ("minutes", "hours"),
    [
        (range(0), range(0)),
        (range(0, 60), range(0, 1)),
        (range(0, 61), range(0, 2)),
        (range(59, 61), range(0, 2)),
        (minute_window(T0, 60), range(T0 // HOUR_MS - 1, T0 // HOUR_MS + 1)),
        (minute_window(T0 + 59 * MINUTE_MS, 60), range(T0 // HOUR_MS, T0 // HOUR_MS + 1)),
    ],
)
def test_hours_for_minutes(minutes: range, hours: range) -> None:
    assert hours_for_minutes(minutes) == hours


def _containers(indices: range, per: int) -> set[int]:
    return {i // per for i in indices}


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(now=TIMES, count=st.integers(0, 24 * 9))
def test_property_days_for_hours_covers_exactly_the_hours(now: int, count: int) -> None:
    hours = hour_window(now, count)
    days = days_for_hours(hours)
    # every hour bucket lives in one of the day hashes read, and no day hash is read for nothing
    assert set(days) == _containers(hours, DAY_MS // HOUR_MS)


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(now=TIMES, count=st.integers(0, 60 * 7))
def test_property_hours_for_minutes_covers_exactly_the_minutes(now: int, count: int) -> None:
    minutes = minute_window(now, count)
    assert set(hours_for_minutes(minutes)) == _containers(minutes, HOUR_MS // MINUTE_MS)


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(start=st.integers(-500, 500), length=st.integers(0, 300))
def test_property_coverage_for_any_range(start: int, length: int) -> None:
    r = range(start, start + length)
    assert set(days_for_hours(r)) == _containers(r, 24)
    assert set(hours_for_minutes(r)) == _containers(r, 60)


def test_window_sum() -> None:
    buckets = {"cm:10": 2, "cm:11": 3, "cm:12": 5, "cm:9": 100, "ss:11": 7, "cm:1": 1}
    assert window_sum(buckets, "cm", range(10, 13)) == 10
    assert window_sum(buckets, "cm", range(11, 12)) == 3
    assert window_sum(buckets, "ss", range(10, 13)) == 7
    assert window_sum(buckets, "int", range(10, 13)) == 0
    assert window_sum(buckets, "cm", range(0)) == 0
    assert window_sum({"cm:-1": 4, "cm:0": 1}, "cm", range(-1, 1)) == 5
    # a metric that is a prefix of another is not confused with it
    assert window_sum({"c:5": 1, "cm:5": 10}, "c", range(5, 6)) == 1


BUCKETS = st.dictionaries(
    st.tuples(st.sampled_from(["cm", "ss", "int", "mn:acme"]), st.integers(-20, 20)).map(
        lambda mi: f"{mi[0]}:{mi[1]}"
    ),
    st.integers(-(10**9), 10**9),
    max_size=40,
)


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(
    buckets=BUCKETS,
    metric=st.sampled_from(["cm", "ss", "int", "mn:acme"]),
    lo=st.integers(-25, 25),
    n=st.integers(0, 30),
)
def test_property_window_sum_is_the_brute_force_sum(
    buckets: dict[str, int], metric: str, lo: int, n: int
) -> None:
    want = 0
    for name, value in buckets.items():
        m, _, idx = name.rpartition(":")
        if m == metric and lo <= int(idx) < lo + n:
            want += value
    assert window_sum(buckets, metric, range(lo, lo + n)) == want


@pytest.mark.parametrize(
    ("t", "now", "length", "inside"),
    [
        (T0, T0, DAY_MS, True),
        (T0 - DAY_MS + 1, T0, DAY_MS, True),
        (T0 - DAY_MS, T0, DAY_MS, False),
        (T0 + 1, T0, DAY_MS, False),
        (T0 - 7 * DAY_MS + 1, T0, 7 * DAY_MS, True),
        (T0 - 7 * DAY_MS, T0, 7 * DAY_MS, False),
    ],
)
def test_in_window_is_half_open(t: int, now: int, length: int, inside: bool) -> None:
    assert in_window(t, now, length) is inside


@settings(deadline=None)  # a loaded CI box must not turn into a flaky failure
@given(t=TIMES, now=TIMES, length=st.integers(0, 30 * DAY_MS))
def test_property_in_window(t: int, now: int, length: int) -> None:
    assert in_window(t, now, length) is (now - length < t <= now)
