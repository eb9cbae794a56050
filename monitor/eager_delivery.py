"""Faust's Kafka transport with eager delivery of each fetched record to the agents' streams.

faust's fetcher hands every record to the streams with ``Service.wait_first(deliver(record),
suspend_flow.wait())``: four tasks and an ``asyncio.wait`` per record, about half of what a bare
faust agent costs per record (bench/README.md). Almost always the delivery finishes without
waiting (the stream's buffer has room), so ``EagerConsumer`` runs its first step synchronously and
falls back to faust's race only when it has to wait: a full buffer or suspended flow still gives
way to a rebalance or a stop exactly as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any, ClassVar

from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service
from mode.services import WaitArgT, WaitResults
from mode.utils.times import Seconds


class _Continue:
    """Awaitable that carries on a coroutine whose first step already ran and yielded ``pending``.

    What a task does with a coroutine, from the second step on: the yielded future goes to the
    awaiting task, and what the task sends or throws back goes into the coroutine.
    """

    __slots__ = ("_coro", "_pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self._coro = coro
        self._pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self._coro, self._pending
        while True:
            try:
                value = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation belongs to the coroutine
                done, pending = _step(coro, exc)
            else:
                done, pending = _step(coro, value)
            if done:
                return pending


def _step(coro: Coroutine[Any, Any, Any], sent: Any) -> tuple[bool, Any]:
    """Run ``coro`` to its next yield: (False, what it yielded) or (True, what it returned)."""
    try:
        yielded = coro.throw(sent) if isinstance(sent, BaseException) else coro.send(sent)
    except StopIteration as stop:
        return True, stop.value
    return False, yielded


class EagerWaitFirst(Service):
    """``wait_first`` that runs the first coroutine's first step itself, and races only if it waits.

    For a service with a ``suspend_flow`` event (faust's consumer): never eager while flow is
    suspended or the service stops, so a rebalance or a stop decides the race as in faust. The
    first step runs inside the caller's task and the rest in another: right for faust's delivery
    (locks, events, queue puts), wrong for a coroutine that binds to its task in its first step
    (``asyncio.timeout``, ``current_task()``).
    """

    suspend_flow: asyncio.Event

    async def wait_first(
        self,
        *coros: WaitArgT,
        timeout: Seconds | None = None,  # noqa: ASYNC109  # mode.Service.wait_first's signature
    ) -> WaitResults:
        first = coros[0]
        if (
            isinstance(first, Coroutine)
            and timeout is None
            and not self.should_stop
            and not self.suspend_flow.is_set()
        ):
            try:
                done, value = _step(first, None)
            except BaseException:
                _close(coros[1:])
                raise
            if done:
                _close(coros[1:])
                return WaitResults([first], [value], False)
            rest = _Continue(first, value)
            result = await super().wait_first(rest, *coros[1:], timeout=timeout)  # type: ignore[arg-type]
            # the caller raced its own coroutine: report that one, not our wrapper
            return result._replace(done=[first if c is rest else c for c in result.done])
        # mode defaults timeout to None but types it without: None is what it expects here
        return await super().wait_first(*coros, timeout=timeout)  # type: ignore[arg-type]


def _close(coros: tuple[WaitArgT, ...]) -> None:
    """Close the race's other coroutines: never started, the race is decided without them."""
    for coro in coros:
        if isinstance(coro, Coroutine):
            coro.close()


class EagerConsumer(EagerWaitFirst, faust_aiokafka.Consumer):
    """faust's aiokafka consumer, delivering without a task when delivery need not wait."""


class EagerTransport(faust_aiokafka.Transport):
    Consumer: ClassVar[type[Any]] = EagerConsumer
