"""The web view's process: serve the JSON API, the live alert stream and the dashboard.

``monitor web`` (:mod:`monitor.cli.web`) parses the flags and calls :func:`serve`.
"""

from __future__ import annotations

import asyncio
import gc
import signal

from aiohttp import web

from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.store.client import make_redis
from monitor.web.app import DEFAULT_KEEPALIVE_S, DEFAULT_MAX_STREAM_CLIENTS, create_web_app

log = get_logger(__name__)

# Live alert streams end by themselves within a couple of seconds of shutdown starting.
_SHUTDOWN_TIMEOUT_S = 5.0


def auth_banner(settings: Settings) -> str:
    if settings.api_token is None:
        return (
            "auth OFF: MONITOR_API_TOKEN is unset, so anyone who can reach this address can "
            "read the API; set it to require `Authorization: Bearer <token>` on /api/*"
        )
    return (
        "auth ON: /api/* needs `Authorization: Bearer <MONITOR_API_TOKEN>`; "
        "/healthz and /metrics stay open"
    )


async def serve(
    settings: Settings,
    *,
    keepalive_s: float = DEFAULT_KEEPALIVE_S,
    max_stream_clients: int = DEFAULT_MAX_STREAM_CLIENTS,
) -> int:
    """Run the web view until SIGINT/SIGTERM; returns the exit code."""
    redis = make_redis(settings)
    app = create_web_app(
        settings, redis, keepalive_s=keepalive_s, max_stream_clients=max_stream_clients
    )
    runner = web.AppRunner(app, access_log=None)  # requests are logged by our middleware
    await runner.setup()
    # Everything built so far lives as long as the process: keep it out of the GC's scans.
    gc.freeze()
    host, port = settings.web_host, settings.web_port
    try:
        site = web.TCPSite(runner, host, port, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        try:
            await site.start()
        except OSError as exc:
            print(f"monitor web: cannot listen on {host}:{port}: {exc.strerror or exc}")
            return 1
        shown = f"[{host}]" if ":" in host else host
        print(f"monitor web: dashboard at http://{shown}:{port}/  API at /api/", flush=True)
        print(f"monitor web: {auth_banner(settings)}", flush=True)
        log.info(
            "web view listening",
            host=host,
            port=port,
            auth=settings.api_token is not None,
            keepalive_s=keepalive_s,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("web view stopping")
        return 0
    finally:
        await runner.cleanup()
        await redis.aclose()


__all__ = ["auth_banner", "serve"]
