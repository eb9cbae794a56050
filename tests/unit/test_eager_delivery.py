"""Eager delivery decides every race as faust's ``wait_first`` does, without its tasks when it can.

Each scenario runs against mode's own ``Service.wait_first`` (what faust's consumer uses) and
against ``EagerWaitFirst``; both must give the same outcome.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from mode import Service

from monitor.app import create_faust_app
from monitor.eager_delivery import EagerConsumer, EagerWaitFirst
from monitor.settings import load_settings


class Plain(Service):
    """faust's behaviour: mode's wait_first, with the consumer's suspend_flow event."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


class Eager(EagerWaitFirst):
    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


RACERS = [Plain, Eager]


async def deliver(log: list[str], gate: Awaitable[Any] | None = None) -> str:
    log.append("started")
    try:
        if gate is not None:
            await gate
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    log.append("delivered")
    return "ok"


@contextmanager
def counting_tasks() -> Iterator[list[int]]:
    loop = asyncio.get_running_loop()
    count = [0]
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kw: Any) -> asyncio.Task[Any]:
        count[0] += 1
        return asyncio.Task(coro, loop=loop, **kw)

    loop.set_task_factory(factory)  # type: ignore[arg-type]  # typeshed's factory is narrower
    try:
        yield count
    finally:
        loop.set_task_factory(previous)


async def test_a_delivery_that_need_not_wait_starts_no_task() -> None:
    counts = {}
    for racer_type in RACERS:
        racer = racer_type()
        log: list[str] = []
        with counting_tasks() as created:
            await racer.wait_first(deliver(log), racer.suspend_flow.wait())
        counts[racer_type.__name__] = created[0]
        assert log == ["started", "delivered"]
    assert counts == {"Plain": 4, "Eager": 0}


@pytest.mark.parametrize("racer_type", RACERS)
async def test_a_delivery_that_need_not_wait_wins(racer_type: type[Plain | Eager]) -> None:
    racer = racer_type()
    log: list[str] = []
    delivery = deliver(log)
    suspend = racer.suspend_flow.wait()
    result = await racer.wait_first(delivery, suspend)
    assert (result.done, result.results, result.stopped) == ([delivery], ["ok"], False)
    await asyncio.sleep(0)  # mode cancels its task
    assert inspect.getcoroutinestate(suspend) == inspect.CORO_CLOSED  # never left un-awaited


@pytest.mark.parametrize("racer_type", RACERS)
async def test_a_waiting_delivery_completes_when_its_wait_ends(
    racer_type: type[Plain | Eager],
) -> None:
    racer = racer_type()
    log: list[str] = []
    room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    delivery = deliver(log, room)
    asyncio.get_running_loop().call_later(0.01, room.set_result, None)
    result = await racer.wait_first(delivery, racer.suspend_flow.wait())
    assert (result.done, result.results, result.stopped) == ([delivery], ["ok"], False)
    assert log == ["started", "delivered"]


@pytest.mark.parametrize("racer_type", RACERS)
async def test_a_suspended_flow_cancels_a_waiting_delivery(
    racer_type: type[Plain | Eager],
) -> None:
    racer = racer_type()
    log: list[str] = []
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    delivery = deliver(log, never)
    suspend = racer.suspend_flow.wait()
    asyncio.get_running_loop().call_later(0.01, racer.suspend_flow.set)
    result = await racer.wait_first(delivery, suspend)
    assert (result.done, result.stopped) == ([suspend], False)
    await asyncio.sleep(0)  # the cancelled delivery runs its handler
    assert log == ["started", "cancelled"]


@pytest.mark.parametrize("racer_type", RACERS)
async def test_a_delivery_is_not_started_eagerly_while_flow_is_suspended(
    racer_type: type[Plain | Eager],
) -> None:
    racer = racer_type()
    racer.suspend_flow.set()
    log: list[str] = []
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    started_in: list[asyncio.Task[Any] | None] = []

    async def delivery() -> str:
        started_in.append(asyncio.current_task())  # eager: the caller's task; else its own
        return await deliver(log, never)

    suspend = racer.suspend_flow.wait()
    result = await racer.wait_first(delivery(), suspend)
    assert result.done == [suspend]
    await asyncio.sleep(0)
    assert log == ["started", "cancelled"]
    assert started_in != [asyncio.current_task()]


@pytest.mark.parametrize("racer_type", RACERS)
async def test_a_stopped_service_reports_stopped(racer_type: type[Plain | Eager]) -> None:
    racer = racer_type()
    racer._stopped.set()  # what Service.stop() sets first
    log: list[str] = []
    result = await racer.wait_first(deliver(log), racer.suspend_flow.wait())
    assert result.stopped is True


@pytest.mark.parametrize("racer_type", RACERS)
@pytest.mark.parametrize("waits_first", [False, True])
async def test_a_failing_delivery_raises(
    racer_type: type[Plain | Eager], waits_first: bool
) -> None:
    racer = racer_type()

    async def broken() -> None:
        if waits_first:
            await asyncio.sleep(0.001)
        raise ValueError("undecodable")

    suspend = racer.suspend_flow.wait()
    with pytest.raises(ValueError, match="undecodable"):
        await racer.wait_first(broken(), suspend)
    await asyncio.sleep(0)
    assert inspect.getcoroutinestate(suspend) == inspect.CORO_CLOSED


async def test_a_delivery_resumed_in_a_task_gets_what_its_awaits_return() -> None:
    racer = Eager()
    loop = asyncio.get_running_loop()
    first: asyncio.Future[int] = loop.create_future()
    second: asyncio.Future[int] = loop.create_future()

    async def two_waits() -> int:
        a = await first
        await asyncio.sleep(0)  # a bare yield in between
        b = await second
        return a + b

    loop.call_later(0.01, first.set_result, 2)
    loop.call_later(0.02, second.set_result, 40)
    result = await racer.wait_first(two_waits(), racer.suspend_flow.wait())
    assert result.results == [42]


async def test_the_worker_app_uses_the_eager_consumer() -> None:
    app = create_faust_app(load_settings(environ={}))
    assert app.transport.Consumer is EagerConsumer
    assert app.conf.stream_buffer_maxsize >= 16 * app.conf.broker_max_poll_records
