"""Live brand rules: every worker reads the whole compacted ``monitor.rules`` topic.

A plain consumer without a group (all partitions, from the beginning) is safer than a faust
GlobalTable across several workers. Each change rebuilds the matcher, which agents pick up on their
next batch: no restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from monitor.brands.matching import BrandMatcher
from monitor.brands.rules import BrandRule
from monitor.brands.validate import rule_from_json
from monitor.kafka.clients import kafka_client_options
from monitor.kafka.topics import RULES, topic_partitions
from monitor.logs import get_logger
from monitor.settings import Settings

log = get_logger(__name__)


class LiveRules:
    """The current rules and matcher; replaced wholesale on every change."""

    def __init__(self) -> None:
        self.rules: dict[str, BrandRule] = {}
        self.matcher = BrandMatcher({})
        self.loaded = asyncio.Event()
        self._listeners: list[Callable[[dict[str, BrandRule]], None]] = []

    def on_change(self, listener: Callable[[dict[str, BrandRule]], None]) -> None:
        self._listeners.append(listener)

    def apply(self, brand_id: str, value: bytes | None) -> None:
        """One record of the topic: a rule, or a tombstone (None) that deletes it."""
        rules = dict(self.rules)
        if value is None:
            rules.pop(brand_id, None)
        else:
            try:
                rules[brand_id] = rule_from_json(brand_id, value)
            except (ValueError, KeyError, TypeError) as exc:
                log.error("ignoring malformed rule record", brand=brand_id, error=str(exc)[:200])
                return
        self.rules = rules
        self.matcher = BrandMatcher(rules)
        for listener in self._listeners:
            listener(rules)


async def follow_rules(settings: Settings, live: LiveRules, *, poll_ms: int = 500) -> None:
    """Read the rules topic from the start and keep following it until cancelled."""
    topic = settings.topic(RULES)
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(settings, topic)
        while not partitions:
            await asyncio.sleep(0.5)  # the topic does not exist yet
            partitions = await topic_partitions(settings, topic)
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        while True:
            batches = await consumer.getmany(timeout_ms=poll_ms)
            for records in batches.values():
                for rec in records:
                    if rec.key is None:
                        continue
                    live.apply(rec.key.decode("utf-8", "replace"), rec.value)
            if not live.loaded.is_set():
                positions = [await consumer.position(tp) for tp in tps]
                if all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True)):
                    live.loaded.set()
                    log.info("rules loaded", brands=sorted(live.rules))
    finally:
        await consumer.stop()
