"""``monitor notify`` and ``monitor alerts tail``: the subcommands for alert delivery."""

from __future__ import annotations

import argparse

from monitor.cli import alerts as alerts_tail
from monitor.cli import args as cli_args
from monitor.notify.notifier import main_notify
from monitor.notify.options import NotifierOptions


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
