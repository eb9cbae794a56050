"""The benchmark's measurement window: start-up left out, never empty."""

from __future__ import annotations

import pytest

from bench.window import Mark, measurement_window


def test_the_window_opens_at_the_first_progress_seen() -> None:
    w = measurement_window(Mark(0.0, 0.0, 0), Mark(2.0, 1.5, 100), Mark(12.0, 9.5, 1_100))
    assert (w.records, w.seconds, w.cpu_s, w.from_start) == (1_000, 10.0, 8.0, False)
    assert w.per_second == 100.0
    assert w.cpu_s_per_record == 0.008


def test_a_run_done_at_the_first_look_is_measured_from_the_start() -> None:
    # the failure this guards: everything done before the first poll made the window empty
    w = measurement_window(Mark(0.0, 0.0, 0), Mark(0.2, 0.9, 500), Mark(0.2, 0.9, 500))
    assert (w.records, w.seconds, w.cpu_s, w.from_start) == (500, 0.2, 0.9, True)


def test_a_run_with_nothing_done_is_refused() -> None:
    with pytest.raises(ValueError, match="nothing measurable"):
        measurement_window(Mark(0.0, 0.0, 0), Mark(1.0, 0.1, 0), Mark(1.0, 0.1, 0))
