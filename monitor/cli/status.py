"""``monitor status [--json] [--watch]``: is it keeping up, and where is it stuck?"""

from __future__ import annotations

import argparse
import asyncio

import orjson

from monitor.ops.render import render
from monitor.ops.status import Status, collect
from monitor.settings import Settings

# Exit codes: a script or a probe can act on the verdict without parsing the output.
EXIT: dict[str, int] = {"ok": 0, "behind": 1, "stalled": 2}


def _show(status: Status, *, as_json: bool) -> None:
    if as_json:
        print(orjson.dumps(status.to_dict()).decode(), flush=True)
    else:
        print(render(status), flush=True)


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    while True:
        status = await collect(settings)
        if args.watch is None:
            _show(status, as_json=args.json)
            return EXIT[status.verdict.word]
        if not args.json:
            print("\033[2J\033[H", end="")  # clear the screen between samples
        _show(status, as_json=args.json)
        await asyncio.sleep(args.watch)


def _cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(settings, args))
    except KeyboardInterrupt:
        return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="lag, stalls and progress of the namespace's pipeline")
    p.add_argument("--json", action="store_true", help="one JSON object per sample")
    p.add_argument(
        "--watch",
        type=float,
        nargs="?",
        const=5.0,
        default=None,
        metavar="SECONDS",
        help="sample again every SECONDS (default 5) until interrupted",
    )
    p.set_defaults(run=_cmd_status)
