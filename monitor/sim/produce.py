"""The one producer loop: records to the contract topics, optionally paced, delivery awaited.

``monitor generate``, ``replay`` and ``evaluate``, the live feed of ``monitor dev`` and the
benchmark all send through ``produce``. Pacing is a ``Pacer``: when a record may go, on the
event loop's clock. The schedules themselves (``rate_due_s``, ``event_time_due_s``) are pure.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, NamedTuple, Protocol

from aiokafka import AIOKafkaProducer

from monitor.kafka.clients import kafka_client_options
from monitor.settings import Settings
from schemas.codec import dumps


class Record(NamedTuple):
    """One record as sent: the contract topic (un-namespaced), key, value and its event time."""

    topic: str
    key: bytes
    value: bytes
    at_ms: int | None = None  # only pacers that follow event time read it


def keyed_by_creator(topic: str, event: dict[str, Any], at_ms: int | None = None) -> Record:
    """An event as a record keyed by its creator, so one creator's events keep their order."""
    return Record(topic, event["creator_id"].encode(), dumps(event), at_ms)


# --- pacing (the schedules are pure) -------------------------------------------------------------


def rate_due_s(sent: int, rate: float, every: int) -> float | None:
    """Seconds after the first record at which record number ``sent`` (0-based) may go, so that
    ``rate`` records a second leave; checked only every ``every`` records (None in between)."""
    if sent == 0 or sent % every:
        return None
    return sent / rate


def event_time_due_s(at_ms: int, origin_ms: int, speed: float) -> float:
    """Seconds after ``origin_ms`` went out at which a record of event time ``at_ms`` may go,
    with event time running ``speed`` times the clock."""
    return (at_ms - origin_ms) / 1000 / speed


class Pacer(Protocol):
    # Whether sends are confirmed before each wait: yes when waits are long and a feed must not
    # idle on unconfirmed records; no when they are milliseconds and confirming would slow it.
    settle_before_wait: ClassVar[bool]

    def due(self, sent: int, record: Record, now_s: float) -> float | None:
        """When (event loop clock, s) ``record``, the ``sent``-th, may go; None: at once."""


@dataclass(slots=True)
class RatePacer:
    """``rate`` records a second on average, from the first record on."""

    settle_before_wait: ClassVar[bool] = False
    rate: float
    every: int = 50
    _origin_s: float | None = None

    def due(self, sent: int, record: Record, now_s: float) -> float | None:
        if self._origin_s is None:
            self._origin_s = now_s
        offset = rate_due_s(sent, self.rate, self.every)
        return None if offset is None else self._origin_s + offset


@dataclass(slots=True)
class EventTimePacer:
    """Event time runs ``speed`` times the clock from the first record on, which goes at once;
    records before ``origin_ms`` are not held."""

    settle_before_wait: ClassVar[bool] = True
    origin_ms: int
    speed: float
    _origin_s: float | None = None

    def due(self, sent: int, record: Record, now_s: float) -> float | None:
        if self._origin_s is None:
            self._origin_s = now_s
        if record.at_ms is None:
            return None
        return self._origin_s + event_time_due_s(record.at_ms, self.origin_ms, self.speed)


# --- delivery -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    """Producer options, and how many sends may be in flight before they are awaited."""

    acks: int | Literal["all"] = "all"
    linger_ms: int = 5
    max_batch_size: int = 16_384  # aiokafka's defaults
    max_request_size: int = 1_048_576
    window: int = 5_000


@dataclass(slots=True)
class Produced:
    count: int
    seconds: float  # from the producer's start to the last delivery
    metadata: list[Any] = field(default_factory=list)  # RecordMetadata, in order, if asked


async def produce(
    settings: Settings,
    records: Iterable[Record],
    *,
    pacer: Pacer | None = None,
    stop: asyncio.Event | None = None,
    delivery: Delivery = Delivery(),  # frozen, so one shared default is safe
    on_send: Callable[[Record], None] | None = None,
    want_metadata: bool = False,
) -> Produced:
    """Send ``records`` in order and wait until the broker has every one; stops early when
    ``stop`` is set. ``on_send`` sees each record just before it goes (after any wait)."""
    producer = AIOKafkaProducer(
        **kafka_client_options(settings),
        acks=delivery.acks,
        linger_ms=delivery.linger_ms,
        max_batch_size=delivery.max_batch_size,
        max_request_size=delivery.max_request_size,
    )
    await producer.start()
    loop = asyncio.get_running_loop()
    started = loop.time()
    flight = _InFlight(keep=want_metadata)
    try:
        for record in records:
            if pacer is not None:
                await _pace(pacer, flight, record, stop)
            if stop is not None and stop.is_set():
                break
            if on_send is not None:
                on_send(record)
            topic = settings.topic(record.topic)
            flight.add(await producer.send(topic, record.value, key=record.key))
            if len(flight.pending) >= delivery.window and not want_metadata:
                await flight.settle()
        await flight.settle()
        await producer.flush()
        seconds = loop.time() - started
    finally:
        await producer.stop()
    return Produced(flight.sent, seconds, flight.metadata)


async def produce_events(
    settings: Settings, events: Iterable[tuple[str, dict[str, Any]]], *, rate: float | None = None
) -> int:
    """Produce (contract topic, event) pairs keyed by creator; ``rate`` (events/s) paces a feed."""
    pacer = RatePacer(rate) if rate else None
    records = (keyed_by_creator(topic, event) for topic, event in events)
    return (await produce(settings, records, pacer=pacer)).count


@dataclass(slots=True)
class _InFlight:
    """Sends not yet confirmed; delivery errors surface when they are settled."""

    keep: bool
    sent: int = 0
    pending: list[asyncio.Future[Any]] = field(default_factory=list)
    metadata: list[Any] = field(default_factory=list)

    def add(self, future: asyncio.Future[Any]) -> None:
        self.pending.append(future)
        self.sent += 1

    async def settle(self) -> None:
        done = await asyncio.gather(*self.pending)
        if self.keep:
            self.metadata.extend(done)
        self.pending.clear()


async def _pace(
    pacer: Pacer, flight: _InFlight, record: Record, stop: asyncio.Event | None
) -> None:
    """Wait until ``record`` is due, or ``stop`` is set."""
    loop = asyncio.get_running_loop()
    due = pacer.due(flight.sent, record, loop.time())
    if due is None or due <= loop.time():
        return
    if pacer.settle_before_wait:
        await flight.settle()
    left = due - loop.time()
    if stop is None:
        await asyncio.sleep(left)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), left)
