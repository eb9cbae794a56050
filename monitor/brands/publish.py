"""The rules topic from an operator's side: its current state, and publishing a rules file.

The workers follow the topic live (:mod:`monitor.brands.feed`); this is the one-shot side used by
``monitor rules``, ``monitor replay``/``generate``, the benchmarks and the tests.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from monitor.brands.rules import BrandRule, rule_to_json
from monitor.brands.validate import rule_from_json
from monitor.kafka.clients import kafka_client_options
from monitor.kafka.topics import RULES, create_topics, topic_partitions
from monitor.settings import Settings


async def read_live_rules(settings: Settings) -> dict[str, BrandRule]:
    """The rules topic folded to its current state (last record per brand, tombstones delete)."""
    topic = settings.topic(RULES)
    consumer = AIOKafkaConsumer(
        **kafka_client_options(settings), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(settings, topic)]
        if not tps:
            return {}
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        live: dict[str, bytes | None] = {}
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for rec in records:
                    if rec.key is not None:
                        live[rec.key.decode()] = rec.value
        return {b: rule_from_json(b, v) for b, v in live.items() if v is not None}
    finally:
        await consumer.stop()


async def apply_rules(
    settings: Settings, rules: dict[str, BrandRule]
) -> tuple[list[str], list[str]]:
    """Publish every brand, and a tombstone for each live brand the file no longer has."""
    await create_topics(settings)
    removed = sorted(set(await read_live_rules(settings)) - set(rules))
    # acks=all without idempotence: Tansu (the zero-install broker of `monitor dev`) refuses it
    producer = AIOKafkaProducer(**kafka_client_options(settings), acks="all")
    await producer.start()
    try:
        topic = settings.topic(RULES)
        for brand, rule in sorted(rules.items()):
            await producer.send_and_wait(topic, rule_to_json(rule), key=brand.encode())
        for brand in removed:
            await producer.send_and_wait(topic, None, key=brand.encode())
    finally:
        await producer.stop()
    return sorted(rules), removed


__all__ = ["apply_rules", "read_live_rules"]
