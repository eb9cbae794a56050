"""``monitor creators [show ID]``: the live creator tables from a terminal."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from typing import Any

from monitor.cli import args as cli_args
from monitor.core.metrics import DEFAULT_SORT, SORTABLE_METRICS, TIERS
from monitor.settings import Settings
from monitor.store.client import make_redis
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from schemas.codec import dumps


def _fmt_num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and abs(value) >= 1000:
        return f"{value / 1000:.1f}k" if abs(value) < 1_000_000 else f"{value / 1e6:.2f}M"
    return str(value)


async def _with_tables(settings: Settings, fn: Callable[[Any], Any]) -> Any:
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


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    creators = sub.add_parser("creators", help="the live creator tables")
    creators.set_defaults(run=_cmd_creators, creators_action="list")
    creators.add_argument("--tier", choices=TIERS)
    creators.add_argument("--community")
    creators.add_argument("--sort", choices=SORTABLE_METRICS, default=DEFAULT_SORT)
    creators.add_argument("--limit", type=cli_args.int_between(1, 500), default=20)
    creators.add_argument("--json", action="store_true", help="print the web API's objects")
    csub = creators.add_subparsers(dest="creators_action")
    show = csub.add_parser("show", help="one creator's metrics")
    show.add_argument("creator_id")
    show.add_argument("--json", action="store_true")
