"""``monitor notify`` and ``monitor alerts tail``: the subcommands for alert delivery."""

from __future__ import annotations

import argparse
import asyncio
import signal

from monitor.cli import alerts as alerts_tail
from monitor.cli import args as cli_args
from monitor.notify.notifier import NotifierError, run_notifier
from monitor.notify.options import NotifierOptions
from monitor.settings import Settings


def add_notify_arguments(parser: argparse.ArgumentParser) -> None:
    d = NotifierOptions()
    flags: tuple[tuple[str, float, str], ...] = (
        ("--group-wait", d.group_wait_s, "gather one brand's alerts this long into one message"),
        ("--retry-max-s", d.retry_max_s, "retry a failing message this long, then dead-letter"),
        ("--request-timeout-s", d.request_timeout_s, "timeout of one webhook request"),
        ("--min-interval-s", d.min_interval_s, "at most one message per this long per webhook"),
        ("--backoff-base-s", d.backoff_base_s, "first retry delay; doubles per try, jittered"),
        ("--backoff-max-s", d.backoff_max_s, "longest delay between two retries"),
    )
    for flag, default, text in flags:
        parser.add_argument(
            flag,
            type=cli_args.non_negative_float,
            default=default,
            metavar="S",
            help=f"{text} (default {default:g})",
        )
    parser.add_argument(
        "--max-group",
        type=cli_args.positive_int,
        default=d.max_group,
        metavar="N",
        help=f"most alerts in one message (default {d.max_group})",
    )


def options_from_args(args: argparse.Namespace) -> NotifierOptions:
    """NotifierOptions from the flags ``add_notify_arguments`` defines."""
    return NotifierOptions(
        group_wait_s=args.group_wait,
        retry_max_s=args.retry_max_s,
        request_timeout_s=args.request_timeout_s,
        min_interval_s=args.min_interval_s,
        backoff_base_s=args.backoff_base_s,
        backoff_max_s=args.backoff_max_s,
        max_group=max(1, args.max_group),
    )


def main_notify(settings: Settings, args: argparse.Namespace) -> int:
    """``monitor notify``: run until SIGTERM/SIGINT; 0 on a clean stop, 1 on a failure."""
    options = options_from_args(args)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_notifier(settings, options=options, stop=stop)

    try:
        asyncio.run(main())
    except NotifierError:
        return 1
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    notify = sub.add_parser(
        "notify", help="deliver alerts to Slack webhooks (stdout when none is configured)"
    )
    add_notify_arguments(notify)
    notify.set_defaults(run=main_notify)

    alerts = sub.add_parser("alerts", help="the alerts topic from a terminal")
    asub = alerts.add_subparsers(dest="alerts_action", required=True)
    tail = asub.add_parser("tail", help="follow alerts as a brand team's consumer would")
    alerts_tail.add_arguments(tail)
    tail.set_defaults(run=alerts_tail.main_tail)
