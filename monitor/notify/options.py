"""The notifier's knobs, in one place for ``monitor notify``'s flags and every stage (pure)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifierOptions:
    group_wait_s: float = 30.0
    max_group: int = 10  # alerts per message; 10 alerts stay well inside Slack's 50 blocks
    min_interval_s: float = 1.0  # Slack: about one message per second per webhook
    request_timeout_s: float = 10.0
    retry_max_s: float = 600.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    max_pending: int = 10_000  # records held in memory before fetching pauses


def options_from_args(args: argparse.Namespace) -> NotifierOptions:
    """NotifierOptions from the ``monitor notify`` flags (defined in ``monitor.cli.notify``)."""
    return NotifierOptions(
        group_wait_s=args.group_wait,
        retry_max_s=args.retry_max_s,
        request_timeout_s=args.request_timeout_s,
        min_interval_s=args.min_interval_s,
        backoff_base_s=args.backoff_base_s,
        backoff_max_s=args.backoff_max_s,
        max_group=max(1, args.max_group),
    )
