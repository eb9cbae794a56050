"""``monitor`` command line: one entry point for every process and the operator tools.

This module is the one argparse tree; each verb group registers its flags from its own module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from monitor.cli import creators, feed, notify, rules, silence, status, topics, web, worker
from monitor.dev import session as dev
from monitor.logs import configure_logging
from monitor.settings import Settings, SettingsError, load_settings

Command = Callable[[Settings, argparse.Namespace], int]

# In the order `monitor --help` lists them.
_VERB_GROUPS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    worker.register,
    topics.register,
    creators.register,
    dev.register,
    rules.register,
    notify.register,
    silence.register,
    feed.register,
    web.register,
    status.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="monitor", description=__doc__.partition("\n")[0])
    parser.add_argument("--config", help="TOML settings file (MONITOR_* variables override it)")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in _VERB_GROUPS:
        register(sub)
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
