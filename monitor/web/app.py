"""The web view's aiohttp application: the route table, middlewares and the app factory.

The app holds the Redis client and configuration and nothing else, so replicas behind a load
balancer answer alike. One table (:data:`ROUTES`) builds both the router and
``/api/openapi.json``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
import uuid
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Final

import redis.asyncio as aioredis
import structlog
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.store.brands import BrandTables
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from monitor.web import api
from monitor.web.api import CTX, ApiError, WebContext, error_body, json_response
from monitor.web.openapi import Handler, ParamError, Route, openapi_document, parse_query
from monitor.web.prometheus import prometheus
from monitor.web.responses import SCHEMAS, array_of, ref
from monitor.web.silences import (
    SILENCE_ID,
    SILENCE_REQUEST,
    SILENCE_SCHEMA,
    add_silence,
    expire_silence,
    list_silences,
)
from monitor.web.sse import STREAM_PARAMS, alert_stream

log = get_logger(__name__)

DEFAULT_KEEPALIVE_S: Final = 15.0
DEFAULT_MAX_STREAM_CLIENTS: Final = 200
STREAM_PATH: Final = "/api/alerts/stream"
SLOW_REQUEST_MS: Final = 250.0
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Scripts, styles, images and connections only from this origin: no inline code, no CDN.
_SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


async def _openapi(request: web.Request) -> web.StreamResponse:
    parse_query((), request.query)
    try:
        version = package_version("community-signal-monitor")
    except PackageNotFoundError:
        version = "0"
    return json_response(openapi_document(ROUTES, version=version, schemas=SCHEMAS))


ROUTES: Final[tuple[Route, ...]] = (
    Route(
        path="/api/creators",
        handler=api.list_creators,
        operation_id="listCreators",
        summary="Creators with their live metrics, best first by a metric",
        tag="creators",
        params=api.CREATORS_PARAMS,
        response_schema=array_of("Creator"),
    ),
    Route(
        path="/api/creators/{creator_id}",
        handler=api.get_creator,
        operation_id="getCreator",
        summary="One creator's metrics and recent follower, interaction and sentiment series",
        tag="creators",
        params=api.CREATOR_PARAMS,
        response_schema=ref("CreatorDetail"),
        not_found=True,
    ),
    Route(
        path="/api/communities",
        handler=api.list_communities,
        operation_id="listCommunities",
        summary="Community names (for the leaderboard's filter)",
        tag="creators",
        response_schema={"type": "array", "items": {"type": "string"}},
    ),
    Route(
        path="/api/brands",
        handler=api.list_brands,
        operation_id="listBrands",
        summary="Each brand with its mentions in the current window and its baseline",
        tag="brands",
        response_schema=array_of("BrandSummary"),
    ),
    Route(
        path="/api/brands/{brand}",
        handler=api.get_brand,
        operation_id="getBrand",
        summary="Mention timeline with baseline band, top mentioning creators, latest evidence",
        tag="brands",
        params=(api.BRAND_PATH,),
        response_schema=ref("Brand"),
        not_found=True,
    ),
    Route(
        path="/api/alerts",
        handler=api.list_alerts,
        operation_id="listAlerts",
        summary="Newest alerts first; X-Last-Event-ID is where the live stream continues",
        tag="alerts",
        params=api.ALERTS_PARAMS,
        response_schema=array_of("Alert"),
    ),
    Route(
        path=STREAM_PATH,
        handler=alert_stream,
        operation_id="streamAlerts",
        summary="The same alerts live, as server-sent events (id = stream entry id)",
        tag="alerts",
        params=STREAM_PARAMS,
        content_type="text/event-stream",
    ),
    Route(
        path="/api/silences",
        handler=list_silences,
        operation_id="listSilences",
        summary="Silences, active and expired in the last day, oldest first",
        tag="silences",
        response_schema={"type": "array", "items": SILENCE_SCHEMA},
    ),
    Route(
        path="/api/silences",
        handler=add_silence,
        operation_id="addSilence",
        summary="Silence a brand's alerts (optionally one type, one creator) in Slack until a time",
        tag="silences",
        method="POST",
        request_schema=SILENCE_REQUEST,
        response_schema=SILENCE_SCHEMA,
    ),
    Route(
        path="/api/silences",
        handler=expire_silence,
        operation_id="expireSilence",
        summary="Expire a silence now (it stays listed, as expired, for a day)",
        tag="silences",
        method="DELETE",
        params=(SILENCE_ID,),
        response_schema=SILENCE_SCHEMA,
        not_found=True,
    ),
    Route(
        path="/api/openapi.json",
        handler=_openapi,
        operation_id="getOpenApi",
        summary="This document",
        tag="meta",
        response_schema={"type": "object"},
    ),
    Route(
        path="/healthz",
        handler=api.healthz,
        operation_id="healthz",
        summary="Liveness (also says whether Redis answers)",
        tag="meta",
        response_schema={"type": "object"},
    ),
    Route(
        path="/metrics",
        handler=prometheus,
        operation_id="metrics",
        summary="Prometheus text: watermark, counts, dead letters, worker counters",
        tag="meta",
        content_type="text/plain",
    ),
    Route(
        path="/",
        handler=api.dashboard,
        operation_id="dashboard",
        summary="The analysts' live dashboard",
        tag="dashboard",
        content_type="text/html",
    ),
    Route(
        path="/static/{name}",
        handler=api.static_file,
        operation_id="staticFile",
        summary="The dashboard's scripts, styles and vendored chart library",
        tag="dashboard",
        params=api.STATIC_PARAMS,
        content_type="application/octet-stream",
        not_found=True,
    ),
)


# --- middlewares ------------------------------------------------------------------------------
def _needs_token(request: web.Request) -> bool:
    # Judge by the matched route as well as the raw path, so no spelling of a URL slips past.
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else ""
    return request.path.startswith("/api/") or canonical.startswith("/api/")


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


@web.middleware
async def _log_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get("X-Request-ID", "")
    request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
    # The path only: a query string may carry the stream's access_token.
    with structlog.contextvars.bound_contextvars(
        request_id=request_id, method=request.method, path=request.path[:200]
    ):
        start = time.perf_counter()
        status = 500
        try:
            request["request_id"] = request_id
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            ms = round((time.perf_counter() - start) * 1000, 2)
            # Errors and slow answers at info; the steady stream of fast 2xx only at debug, where
            # it costs nothing unless asked for (at ~1 ms a request, a log line is ~10 %).
            if status >= 400 or ms >= SLOW_REQUEST_MS:
                log.info("request", status=status, ms=ms)
            elif logging.getLogger().isEnabledFor(logging.DEBUG):
                log.debug("request", status=status, ms=ms)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as JSON: 400 naming the parameter, 401, 404, 503 when Redis is down."""
    try:
        return await handler(request)
    except ParamError as exc:
        body = error_body("bad_parameter", str(exc), parameter=exc.parameter)
        return json_response(body, status=400)
    except ApiError as exc:
        return json_response(
            error_body(exc.error, exc.message), status=exc.status, headers=exc.headers
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = "not_found" if exc.status == 404 else f"http_{exc.status}"
        headers = {k: v for k, v in exc.headers.items() if k.lower() in {"allow", "retry-after"}}
        return json_response(error_body(code, exc.reason), status=exc.status, headers=headers)
    except (RedisConnectionError, RedisTimeoutError) as exc:
        log.warning("redis unavailable", error=type(exc).__name__)
        return json_response(
            error_body("unavailable", "the live tables (Redis) are unreachable; retry shortly"),
            status=503,
            headers={"Retry-After": "5"},
        )
    except Exception:
        log.exception("unhandled error")
        return json_response(error_body("internal", "internal error"), status=500)


@web.middleware
async def _auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    token = request.app[CTX].settings.api_token
    if token is None or not _needs_token(request):
        return await handler(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        # EventSource cannot send headers: the stream alone also takes ?access_token=.
        given = request.query.get("access_token", "") if request.path == STREAM_PATH else ""
    # Compare digests in constant time: neither the token nor its length leaks through timing.
    if not given or not hmac.compare_digest(_digest(given.strip()), _digest(token.reveal())):
        raise ApiError(
            401,
            "unauthorized",
            "this API needs `Authorization: Bearer <MONITOR_API_TOKEN>`",
            headers={"WWW-Authenticate": 'Bearer realm="monitor"'},
        )
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in _SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if "request_id" in request:
        response.headers.setdefault("X-Request-ID", request["request_id"])
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")


async def _stop_streams(app: web.Application) -> None:
    app[CTX].closing.set()


def _router_path(path: str) -> str:
    # aiohttp's default placeholder refuses braces; ids may contain anything but '/'.
    return re.sub(r"\{(\w+)\}", r"{\1:[^/]+}", path)


def create_web_app(
    settings: Settings,
    redis: aioredis.Redis,
    *,
    keepalive_s: float = DEFAULT_KEEPALIVE_S,
    max_stream_clients: int = DEFAULT_MAX_STREAM_CLIENTS,
    static_dir: Path = api.STATIC_DIR,
) -> web.Application:
    """The web view over one namespace's Redis; the caller owns (and closes) the client."""
    if keepalive_s <= 0:
        raise ValueError("keepalive_s must be greater than 0")
    keys = Keys(settings.redis_prefix)
    tables = Tables(redis, keys, settings)
    app = web.Application(middlewares=[_log_requests, _errors, _auth], client_max_size=64 * 1024)
    app[CTX] = WebContext(
        settings=settings,
        keys=keys,
        redis=redis,
        tables=tables,
        brands=BrandTables(redis, keys, tables),
        static_files=api.scan_static(static_dir),
        keepalive_s=keepalive_s,
        max_stream_clients=max_stream_clients,
    )
    for route in ROUTES:
        app.router.add_route(
            route.method, _router_path(route.path), route.handler, name=route.operation_id
        )
    app.on_response_prepare.append(_security_headers)
    app.on_shutdown.append(_stop_streams)
    return app


__all__ = [
    "DEFAULT_KEEPALIVE_S",
    "DEFAULT_MAX_STREAM_CLIENTS",
    "ROUTES",
    "STREAM_PATH",
    "WebContext",
    "create_web_app",
]
