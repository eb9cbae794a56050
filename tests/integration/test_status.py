"""Operations on the real broker and Redis: ``monitor status`` sees a caught-up worker as ok and a
worker paused with SIGSTOP while its records wait as stalled within MONITOR_STALL_S + 10 s; the
worker's /metrics and /healthz; a live notifier whose Slack is down answers /healthz with 503."""

from __future__ import annotations

import signal
import time
from typing import Any

import aiohttp
import orjson
import pytest

from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.ops.status import Status, collect
from monitor.settings import replace
from monitor.sim.produce import produce_events
from monitor.sim.scenario import standard
from tests.helpers import wait_caught_up, wait_for
from tests.integration.test_notifier import (  # slack is a fixture
    FAST,
    FakeSlack,
    Reply,
    closed_port,
    make_alert,
    publish,
    slack,  # noqa: F401
)

pytestmark = [pytest.mark.integration]

STALL_S = 4.0
SCENARIO = standard(hours=2, creators=20)
WORKER_METRICS = (
    "monitor_batch_plan_seconds_bucket",
    "monitor_batch_apply_seconds_bucket",
    "monitor_batch_records_bucket",
    'monitor_records_total{outcome="applied"}',
    "monitor_consumer_lag{",
    'monitor_detect_steps_behind{detector="creators"}',
    "monitor_partitions_stalled",
)


def _worker(status: Status) -> Any:
    return next(g for g in status.groups if g.role == "worker")


async def _get(port: int, path: str, timeout_s: float = 3.0) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://127.0.0.1:{port}{path}") as resp,
    ):
        return resp.status, await resp.text()


async def test_status_and_healthz_see_a_stopped_worker_stall(
    settings: Any, settings_env: dict[str, str], redis: Any, spawn: Any
) -> None:
    settings = replace(settings, stall_s=STALL_S)
    await create_topics(settings)
    events = SCENARIO.events
    half = len(events) // 2
    await produce_events(settings, events[:half])
    port = closed_port()
    env = {"MONITOR_STALL_S": str(STALL_S), "MONITOR_METRICS_PORT": str(port)}
    worker = spawn("worker", extra_env=env)
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

    async def sampled() -> str | None:
        code, text = await _get(port, "/metrics")
        return text if code == 200 and all(m in text for m in WORKER_METRICS) else None

    await wait_for(sampled, timeout=30, interval=1, what="the worker's metrics")
    assert await _get(port, "/healthz") == (200, '{"status":"ok","reason":"keeping up"}')

    worker.popen.send_signal(signal.SIGSTOP)
    try:
        await produce_events(settings, events[half:])
        waited_from = time.monotonic()

        async def stalled() -> Status | None:
            status = await collect(settings)
            return status if _worker(status).verdict.word == "stalled" else None

        status = await wait_for(stalled, timeout=STALL_S + 10, interval=1, what="a stall")
        assert time.monotonic() - waited_from <= STALL_S + 10
        assert status.verdict.word == "stalled"
        assert "records waiting, no progress" in _worker(status).verdict.reason
        # A stopped process cannot answer: its probe fails by timeout, as a kubelet's would.
        with pytest.raises(TimeoutError):
            await _get(port, "/healthz", timeout_s=2.0)
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


async def test_a_live_notifier_stuck_on_slack_answers_healthz_503(
    settings: Any,
    spawn: Any,
    slack: FakeSlack,  # noqa: F811  # the fixture
) -> None:
    slack.script("/down", always=Reply(500, "down"))
    await publish(settings, [make_alert(n) for n in range(3)])
    port = closed_port()
    env = {
        "MONITOR_STALL_S": str(STALL_S),
        "MONITOR_METRICS_PORT": str(port),
        "MONITOR_SLACK_WEBHOOK": slack.url("/down"),
    }
    # Retries for longer than the test: the alerts wait, uncommitted, while the process runs.
    args = [a if a != "3" else "600" for a in FAST]
    spawn("notify", *args, extra_env=env)

    async def unhealthy() -> tuple[int, str] | None:
        try:
            code, text = await _get(port, "/healthz")
        except (aiohttp.ClientError, TimeoutError):
            return None  # not serving yet
        return (code, text) if code == 503 else None

    started = time.monotonic()
    _, text = await wait_for(unhealthy, timeout=STALL_S + 20, interval=0.5, what="a 503")
    assert time.monotonic() - started <= STALL_S + 20  # includes the notifier's start-up
    assert orjson.loads(text)["status"] == "stalled"
    _, metrics = await _get(port, "/metrics")
    assert 'monitor_slack_sends_total{result="server_error"}' in metrics
    assert "monitor_partitions_stalled 1.0" in metrics
