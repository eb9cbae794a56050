"""``monitor topics create``: the contract's Kafka topics."""

from __future__ import annotations

import argparse
import asyncio

from monitor.kafka.topics import create_topics
from monitor.settings import Settings


def _cmd_topics_create(settings: Settings, _: argparse.Namespace) -> int:
    created = asyncio.run(create_topics(settings))
    print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    topics = sub.add_parser("topics", help="manage the contract's Kafka topics")
    tsub = topics.add_subparsers(dest="topics_action", required=True)
    tsub.add_parser("create", help="create missing topics").set_defaults(run=_cmd_topics_create)
