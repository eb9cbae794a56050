"""``monitor dev feed``: the live scenario (monitor/sim/live.py) into Kafka, and the brand rules.

History goes at full speed, so baselines exist before anything is planted; then the feed goes
live, paced so event time runs ``--speed`` times the clock, and says what it plants as it does.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import time
from collections.abc import Iterator

from aiokafka import AIOKafkaProducer

from monitor.brands.rules import rule_to_json
from monitor.brands.validate import parse_rules_toml
from monitor.cli import args as cli_args
from monitor.core.units import MINUTE_MS
from monitor.dev.console import say
from monitor.kafka.clients import kafka_client_options
from monitor.kafka.topics import create_topics
from monitor.settings import Settings
from monitor.sim.live import Cast, LivePlan, live_events, make_cast
from monitor.sim.produce import EventTimePacer, Record, keyed_by_creator, produce
from monitor.sim.scenario import RULES_TOML
from schemas.events import format_time_ms


async def run_feed(settings: Settings, plan: LivePlan, stop: asyncio.Event) -> int:
    """History at full speed, then live, paced so event time runs ``plan.speed`` x the clock."""
    live_ms = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
    cast = make_cast(plan)
    records = (keyed_by_creator(topic, ev, t) for t, topic, ev in live_events(plan, live_ms, cast))
    first_live: list[Record] = []
    history = await produce(settings, history_part(records, live_ms, first_live), stop=stop)
    sent = history.count
    if not stop.is_set():
        say(
            f"feed: {plan.history_h} h of history ({sent:,} events) sent in "
            f"{history.seconds:.1f}s; live from {format_time_ms(live_ms)} "
            f"at {plan.speed:g}x real time"
        )
        live = await produce(
            settings,
            itertools.chain(first_live, records),
            pacer=EventTimePacer(live_ms, plan.speed),
            stop=stop,
            on_send=lambda record: announce(cast, record),
        )
        sent += live.count
    say(f"feed: stopped after {sent:,} events")
    return 0


def history_part(
    records: Iterator[Record], at_ms: int, first_after: list[Record]
) -> Iterator[Record]:
    """The records before ``at_ms``; the first one after it is put in ``first_after``."""
    for record in records:
        if record.at_ms is not None and record.at_ms >= at_ms:
            first_after.append(record)
            return
        yield record


def announce(cast: Cast, record: Record) -> None:
    """Say what is planted as its first event goes out."""
    while cast.notes and record.at_ms is not None and cast.notes[0][0] <= record.at_ms:
        at, what = cast.notes.pop(0)
        say(f"feed: planting {what} at {format_time_ms(at)}")


async def publish_rules(settings: Settings, text: str) -> str:
    """``monitor rules apply`` without its idempotent producer, for Tansu: its 0.6 broker answers
    InitProducerId with an unknown error. A fresh broker has no rules to tombstone."""
    rules = parse_rules_toml(text)
    producer = AIOKafkaProducer(**kafka_client_options(settings), acks="all")
    await producer.start()
    try:
        for brand, rule in sorted(rules.items()):
            topic = settings.topic("monitor.rules")
            await producer.send_and_wait(topic, rule_to_json(rule), key=brand.encode())
    finally:
        await producer.stop()
    return f"applied {len(rules)} brand(s): {', '.join(sorted(rules))}"


def cmd_feed(settings: Settings, args: argparse.Namespace) -> int:
    plan = LivePlan(
        seed=args.seed, creators=args.creators, history_h=args.history_hours, speed=args.speed
    )

    async def main() -> int:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        if args.rules:
            await create_topics(settings)
            say(f"feed: {await publish_rules(settings, RULES_TOML)}")
        return await run_feed(settings, plan, stop)

    return asyncio.run(main())


def add_feed_args(p: argparse.ArgumentParser) -> None:
    d = LivePlan()
    p.add_argument(
        "--speed", type=cli_args.positive_float, default=d.speed, help="event time runs this "
        f"many x the clock in the live part ({d.speed:g}: one event-hour a minute)"
    )  # fmt: skip
    p.add_argument(
        "--history-hours", type=cli_args.positive_int, default=d.history_h, help="event-hours of "
        f"history sent first ({d.history_h}; growth alerts need > 24, spikes > 6)"
    )  # fmt: skip
    p.add_argument("--creators", type=cli_args.positive_int, default=d.creators)
    p.add_argument("--seed", type=int, default=d.seed)
