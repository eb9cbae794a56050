"""``monitor rules apply FILE`` / ``monitor rules list``: the compacted rules topic from a shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from monitor.brands.rules import (
    BrandRule,
    RuleError,
    parse_rules_toml,
    rule_from_json,
    rule_public_dict,
    rule_to_json,
)
from monitor.kafka.clients import kafka_client_options
from monitor.kafka.topics import RULES, create_topics, topic_partitions
from monitor.settings import Settings
from schemas.codec import dumps


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


def _apply(settings: Settings, args: argparse.Namespace) -> int:
    try:
        rules = parse_rules_toml(Path(args.file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"monitor rules apply: no such file: {args.file}", file=sys.stderr)
        return 2
    except RuleError as exc:
        print(f"monitor rules apply: {args.file} was refused:\n{exc}", file=sys.stderr)
        return 2
    applied, removed = asyncio.run(apply_rules(settings, rules))
    print(f"applied {len(applied)} brand(s): {', '.join(applied) or '-'}")
    if removed:
        print(f"removed {len(removed)} brand(s): {', '.join(removed)}")
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    rules = asyncio.run(read_live_rules(settings))
    if args.json:
        sys.stdout.write(
            dumps([rule_public_dict(r) for _, r in sorted(rules.items())]).decode() + "\n"
        )
        return 0
    if not rules:
        print("no brand rules are live: publish some with `monitor rules apply rules.toml`")
    for brand, rule in sorted(rules.items()):
        print(f"{brand:<20} {rule.name:<28} terms: {', '.join(rule.terms)}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = sub.add_parser("rules", help="brand rules on the compacted rules topic")
    rsub = rules.add_subparsers(dest="rules_action", required=True)
    apply = rsub.add_parser("apply", help="validate a rules TOML file and publish it")
    apply.add_argument("file")
    apply.set_defaults(run=_apply)
    lst = rsub.add_parser("list", help="show the live rules")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=_list)
