"""``monitor web``: the flags of the web view's process (:func:`monitor.web.server.serve`)."""

from __future__ import annotations

import argparse
import asyncio

from monitor.cli import args as cli_args
from monitor.settings import Settings, replace
from monitor.web.app import DEFAULT_KEEPALIVE_S, DEFAULT_MAX_STREAM_CLIENTS
from monitor.web.server import serve


def _cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    settings = replace(
        settings,
        web_port=args.port if args.port is not None else settings.web_port,
        web_host=args.host if args.host is not None else settings.web_host,
    )
    return asyncio.run(
        serve(settings, keepalive_s=args.keepalive_s, max_stream_clients=args.max_stream_clients)
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web_cmd = sub.add_parser(
        "web", help="serve the JSON API, the live alert stream and the analysts' dashboard"
    )
    web_cmd.add_argument(
        "--port", type=cli_args.port, help="port (overrides MONITOR_WEB_PORT, 8080)"
    )
    web_cmd.add_argument("--host", help="address to listen on (MONITOR_WEB_HOST, 127.0.0.1)")
    web_cmd.add_argument(
        "--keepalive-s",
        type=cli_args.positive_float,
        default=DEFAULT_KEEPALIVE_S,
        help="seconds of quiet before the alert stream sends a keep-alive comment (15)",
    )
    web_cmd.add_argument(
        "--max-stream-clients",
        type=cli_args.int_between(1, 100_000),
        default=DEFAULT_MAX_STREAM_CLIENTS,
        help="live alert-stream clients per process; more get 503 (200)",
    )
    web_cmd.set_defaults(run=_cmd_web)
