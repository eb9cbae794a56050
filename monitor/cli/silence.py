"""``monitor silence add|list|expire``: Alertmanager-style silences from a shell.

Silences live in Redis (``monitor.silence.store``); the detector reads them as it sends alerts,
so a silence added here holds from the next alert on, without restarting anything.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from monitor.settings import Settings
from monitor.silence.model import SilenceError, new_silence
from monitor.silence.store import SilenceStore
from monitor.store.client import make_redis
from monitor.store.keys import Keys
from schemas.codec import dumps
from schemas.records import ALERT_TYPES

T = TypeVar("T")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _with_store(settings: Settings, use: Callable[[SilenceStore], Awaitable[T]]) -> T:
    async def run() -> T:
        redis = make_redis(settings)
        try:
            return await use(SilenceStore(redis, Keys(settings.redis_prefix)))
        finally:
            await redis.aclose()

    return asyncio.run(run())


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric uid)
        return None


def _add(settings: Settings, args: argparse.Namespace) -> int:
    given = {
        "brand": args.brand,
        "type": args.alert_type,
        "creator": args.creator,
        "until": args.until,
        "comment": args.comment,
        "created_by": _user(),
    }
    now_ms = _now_ms()
    try:
        silence = new_silence(given, now_ms=now_ms)
    except SilenceError as exc:
        print(f"monitor silence add: --{exc.field} {exc.message}", file=sys.stderr)
        return 2
    _with_store(settings, lambda store: store.add(silence))
    shown = silence.public(now_ms)
    print(f"silence {shown['id']} holds {shown['brand']} until {shown['ends_at']}")
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    now_ms = _now_ms()
    shown = [s.public(now_ms) for s in _with_store(settings, lambda store: store.all(now_ms))]
    if args.json:
        sys.stdout.write(dumps(shown).decode() + "\n")
        return 0
    if not shown:
        print("no silences (expired ones are kept for a day)")
    for s in shown:
        matchers = " ".join(
            f"{name}={s[name]}" for name in ("brand", "type", "creator_id") if s[name] is not None
        )
        print(f"{s['id']}  {s['state']:<7}  until {s['ends_at']}  {matchers}  # {s['comment']}")
    return 0


def _expire(settings: Settings, args: argparse.Namespace) -> int:
    now_ms = _now_ms()
    ended = _with_store(settings, lambda store: store.expire(args.silence_id, now_ms))
    if ended is None:
        print(f"monitor silence expire: no silence {args.silence_id!r}", file=sys.stderr)
        return 1
    print(f"silence {ended.silence_id} expired at {ended.public(now_ms)['ends_at']}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    silence = sub.add_parser("silence", help="mute a brand's alerts in Slack for a while")
    ssub = silence.add_subparsers(dest="silence_action", required=True)
    add = ssub.add_parser("add", help="silence alerts matching a brand (and type, creator)")
    add.add_argument("--brand", required=True, help="the brand id (required)")
    add.add_argument("--type", choices=ALERT_TYPES, dest="alert_type", help="only this type")
    add.add_argument("--creator", help="only this creator's alerts")
    add.add_argument(
        "--until",
        required=True,
        help="end: RFC 3339 with an offset (2026-12-02T18:00:00Z) or a duration (90m, 2h, 1d)",
    )
    add.add_argument("--comment", required=True, help="why (shown in `monitor silence list`)")
    add.set_defaults(run=_add)
    lst = ssub.add_parser("list", help="silences, active and expired in the last day")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=_list)
    expire = ssub.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id", metavar="ID")
    expire.set_defaults(run=_expire)
