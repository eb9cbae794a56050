"""``monitor status`` on the real broker and Redis: a caught-up worker is ok; a worker paused
with SIGSTOP while its records wait is reported stalled within MONITOR_STALL_S + 10 s."""

from __future__ import annotations

import signal
import time
from typing import Any

import orjson
import pytest

from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.ops.status import Status, collect
from monitor.settings import replace
from monitor.sim.produce import produce_events
from monitor.sim.scenario import standard
from tests.helpers import wait_caught_up, wait_for

pytestmark = [pytest.mark.integration]

STALL_S = 4.0
SCENARIO = standard(hours=2, creators=20)


def _worker(status: Status) -> Any:
    return next(g for g in status.groups if g.role == "worker")


async def test_status_sees_a_stopped_worker_stall(
    settings: Any, settings_env: dict[str, str], redis: Any, spawn: Any
) -> None:
    settings = replace(settings, stall_s=STALL_S)
    await create_topics(settings)
    events = SCENARIO.events
    half = len(events) // 2
    await produce_events(settings, events[:half])
    worker = spawn("worker", extra_env={"MONITOR_STALL_S": str(STALL_S)})
    await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=120)

    async def caught_up() -> Status | None:
        status = await collect(settings)
        return status if _worker(status).lag == 0 and _worker(status).members else None

    status = await wait_for(caught_up, timeout=30, interval=1, what="status to show no lag")
    group = _worker(status)
    assert group.verdict.word == "ok"
    assert all(p.committed is not None for p in group.partitions if p.end > 0)
    assert any(p.watermark_ms for p in group.partitions)
    assert {p.part for p in status.parts} >= {"detect.brands", "detect.creators", "refresh"}

    worker.popen.send_signal(signal.SIGSTOP)
    try:
        await produce_events(settings, events[half:])
        waited_from = time.monotonic()

        async def stalled() -> Status | None:
            status = await collect(settings)
            return status if _worker(status).verdict.word == "stalled" else None

        status = await wait_for(stalled, timeout=STALL_S + 10, interval=1, what="a stall")
        took_s = time.monotonic() - waited_from
        assert took_s <= STALL_S + 10
        assert status.verdict.word == "stalled"
        assert "records waiting, no progress" in _worker(status).verdict.reason
        # The verb itself: JSON on stdout, exit code 2 for stalled.
        shown = spawn("status", "--json", extra_env={"MONITOR_STALL_S": str(STALL_S)})
        assert shown.popen.wait(60) == 2
        line = shown.output().strip().splitlines()[-1]
        assert orjson.loads(line)["verdict"]["word"] == "stalled"
    finally:
        worker.popen.send_signal(signal.SIGCONT)
    # Resumed, it catches up and the verdict clears.
    await wait_caught_up(redis, settings, INPUT_TOPICS, timeout=120)
    status = await wait_for(caught_up, timeout=30, interval=1, what="status to clear")
    assert _worker(status).verdict.word == "ok"
