"""``monitor`` command line: one entry point for every process and the operator tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from monitor.cli import args as cli_args
from monitor.core.metrics import DEFAULT_SORT, SORTABLE_METRICS, TIERS
from monitor.logs import configure_logging, get_logger
from monitor.settings import Settings, SettingsError, load_settings, public_view
from schemas.codec import dumps

log = get_logger("monitor.cli")

Command = Callable[[Settings, argparse.Namespace], int]


def _cmd_worker(settings: Settings, _: argparse.Namespace) -> NoReturn:
    from faust import Worker

    from agents import detection, housekeeping, ingest
    from monitor.app import build_runtime
    from monitor.kafka.topics import create_topics

    asyncio.run(create_topics(settings))
    rt = build_runtime(settings)
    ingest.register(rt)
    housekeeping.register(rt)
    detection.register(rt)
    log.info("worker starting", settings=public_view(settings))
    worker = Worker(
        rt.app,
        loglevel=settings.log_level.upper(),
        override_logging=False,
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()  # runs until stopped, then exits the process


def _cmd_topics_create(settings: Settings, _: argparse.Namespace) -> int:
    from monitor.kafka.topics import create_topics

    created = asyncio.run(create_topics(settings))
    print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")
    return 0


def _fmt_num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 1000:
        return f"{value / 1000:.1f}k" if abs(value) < 1_000_000 else f"{value / 1e6:.2f}M"
    return str(value)


async def _with_tables(settings: Settings, fn: Callable[[Any], Any]) -> Any:
    from monitor.store.client import make_redis
    from monitor.store.creators import Tables
    from monitor.store.keys import Keys

    redis = make_redis(settings)
    try:
        return await fn(Tables(redis, Keys(settings.redis_prefix), settings))
    finally:
        await redis.aclose()


def _cmd_creators(settings: Settings, args: argparse.Namespace) -> int:
    if args.creators_action == "show":
        doc = asyncio.run(_with_tables(settings, lambda t: t.creator(args.creator_id)))
        if doc is None:
            print(f"unknown creator: {args.creator_id}", file=sys.stderr)
            return 1
        if args.json:
            sys.stdout.write(dumps(doc).decode() + "\n")
        else:
            for name, value in doc.items():
                print(f"{name:>22}  {value if isinstance(value, (dict, str)) else _fmt_num(value)}")
        return 0
    docs = asyncio.run(
        _with_tables(
            settings,
            lambda t: t.top_creators(
                sort=args.sort, tier=args.tier, community=args.community, limit=args.limit
            ),
        )
    )
    if args.json:
        sys.stdout.write(dumps(docs).decode() + "\n")
        return 0
    if not docs:
        print("no creators yet: start `monitor worker` and feed events (see README)")
        return 0
    cols = [
        "creator_id",
        "tier",
        "followers",
        "growth_24h_pct",
        "interactions_24h",
        "sentiment_24h",
    ]
    if args.sort not in cols:
        cols.append(args.sort)
    print("  ".join(f"{c:>18}" for c in cols))
    for d in docs:
        print("  ".join(f"{_fmt_num(d.get(c)) if c != 'creator_id' else d[c]:>18}" for c in cols))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitor", description=__doc__)
    parser.add_argument("--config", help="TOML settings file (MONITOR_* variables override it)")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("worker", help="run the stream agents").set_defaults(run=_cmd_worker)

    topics = sub.add_parser("topics", help="manage the contract's Kafka topics")
    tsub = topics.add_subparsers(dest="topics_action", required=True)
    tsub.add_parser("create", help="create missing topics").set_defaults(run=_cmd_topics_create)

    creators = sub.add_parser("creators", help="the live creator tables")
    creators.set_defaults(run=_cmd_creators, creators_action="list")
    creators.add_argument("--tier", choices=TIERS)
    creators.add_argument("--community")
    creators.add_argument("--sort", choices=SORTABLE_METRICS, default=DEFAULT_SORT)
    creators.add_argument("--limit", type=cli_args.int_between(1, 500), default=20)
    creators.add_argument("--json", action="store_true", help="print the web API's objects")
    from monitor.cli import feed as feed_cli
    from monitor.cli import notify as notify_cli
    from monitor.cli import rules as rules_cli
    from monitor.dev import session as dev
    from monitor.web import server as web_cli

    dev.register(sub)
    rules_cli.register(sub)
    notify_cli.register(sub)
    feed_cli.register(sub)
    web_cli.register(sub)
    csub = creators.add_subparsers(dest="creators_action")
    show = csub.add_parser("show", help="one creator's metrics")
    show.add_argument("creator_id")
    show.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(config_file=args.config)
    except SettingsError as exc:
        print(f"monitor: invalid settings: {exc}", file=sys.stderr)
        return 2
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    run: Command = args.run
    return run(settings, args)
