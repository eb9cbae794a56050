"""The span a throughput figure is measured over, kept apart from the polling that finds it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mark:
    """One look at a run: wall clock (s), the worker's CPU so far (s), records done."""

    t: float
    cpu_s: float
    done: int


@dataclass(frozen=True)
class Window:
    """Records handled, and the wall and CPU seconds they took."""

    records: int
    seconds: float
    cpu_s: float
    from_start: bool

    @property
    def per_second(self) -> float:
        return self.records / self.seconds

    @property
    def cpu_s_per_record(self) -> float:
        return self.cpu_s / self.records


def measurement_window(start: Mark, first: Mark, end: Mark) -> Window:
    """From the first progress seen to the end, so the worker's start-up stays out of the figure.

    When the first look already found every record done (a tiny run on a fast machine) that span
    is empty; the window is then the whole run from `start`, start-up included, and says so.
    """
    opening = first if first.done < end.done and first.t < end.t else start
    if end.done <= opening.done or end.t <= opening.t:
        raise ValueError(f"nothing measurable between {opening} and {end}")
    return Window(
        records=end.done - opening.done,
        seconds=end.t - opening.t,
        cpu_s=end.cpu_s - opening.cpu_s,
        from_start=opening is start,
    )
