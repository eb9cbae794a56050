"""The JSON handlers of the web view: live tables, brands, alerts, health and static files.

Handlers read Redis through :class:`Tables` and :class:`BrandTables` and keep nothing between
requests, so any number of replicas can serve the same namespace. User input only ever becomes an
exact key part (built by :class:`Keys`), never a KEYS/SCAN pattern.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.brands.rules import BRAND_ID_PATTERN
from monitor.core.metrics import DEFAULT_SORT, SORTABLE_METRICS, TIERS
from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.store.brands import BrandTables
from monitor.store.creators import Tables
from monitor.store.keys import ALERT_STREAM_MAXLEN, Keys
from monitor.web.openapi import Param, parse_path, parse_query
from schemas.codec import JSONDecodeError, dumps, loads
from schemas.records import ALERT_TYPES

log = get_logger(__name__)

STATIC_DIR: Final = Path(__file__).resolve().parent / "static"
MAX_LIMIT: Final = 500
# /api/alerts reads the stream newest first in pages; the stream is capped, so is the work.
_ALERT_PAGE: Final = 500
_ALERT_SCAN_MAX: Final = 2 * ALERT_STREAM_MAXLEN
# Creators filtered by tier and community at once: the community's best this many, then the tier.
_COMBINED_FILTER_SCAN: Final = 500
_MAX_COMMUNITIES: Final = 1_000
_STATIC_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")
# Matches ingestion's limits (schemas/events.py): ids are 1..256 characters, tags 1..128.
_ID_PATTERN: Final = r"[^\x00-\x1f\x7f]{1,256}"
STREAM_ID_PATTERN: Final = r"\d{1,20}(-\d{1,20})?"


@dataclass(slots=True, kw_only=True)
class WebContext:
    """What the handlers share: clients and configuration, no data."""

    settings: Settings
    keys: Keys
    redis: aioredis.Redis
    tables: Tables
    brands: BrandTables
    static_files: Mapping[str, Path]
    keepalive_s: float
    max_stream_clients: int
    stream_clients: int = 0
    closing: asyncio.Event = field(default_factory=asyncio.Event)


CTX: Final = web.AppKey("monitor_web", WebContext)


class ApiError(Exception):
    """An answer other than 200 from a handler; the error middleware renders it as JSON."""

    def __init__(
        self, status: int, error: str, message: str, *, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = dict(headers or {})


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=dumps(data), status=status, content_type="application/json", headers=headers
    )


def error_body(error: str, message: str, **extra: str) -> dict[str, str]:
    return {"error": error, "message": message, **extra}


def scan_static(directory: Path = STATIC_DIR) -> dict[str, Path]:
    """The files the app may serve, by name: a fixed list, so no request path reaches the disk."""
    if not directory.is_dir():
        return {}
    return {
        p.name: p
        for p in sorted(directory.iterdir())
        if p.is_file() and _STATIC_NAME.fullmatch(p.name)
    }


# --- parameters (shared with the route table, hence with the OpenAPI document) ----------------
LIMIT = Param(
    name="limit",
    description="How many to return (1..500).",
    integer=True,
    minimum=1,
    maximum=MAX_LIMIT,
    default=50,
)
CREATORS_PARAMS: Final = (
    Param(name="tier", description="Only creators of this tier.", choices=TIERS),
    Param(
        name="community",
        description=(
            "Only creators of this community. With `tier` too, the community's best 500 by the "
            "sort metric are filtered by tier."
        ),
        max_length=128,
    ),
    Param(
        name="sort",
        description="Numeric metric to sort by, highest first.",
        choices=SORTABLE_METRICS,
        default=DEFAULT_SORT,
    ),
    LIMIT,
)
CREATOR_PARAMS: Final = (
    Param(
        name="creator_id",
        where="path",
        description="The creator, e.g. `instagram:alice` (URL-encoded).",
        pattern=_ID_PATTERN,
        example="instagram:alice",
    ),
)
BRAND_PATH: Final = Param(
    name="brand",
    where="path",
    description="The brand id of its rule (`[brands.<id>]`).",
    pattern=BRAND_ID_PATTERN.pattern,
    example="acme",
)
ALERT_FILTERS: Final = (
    Param(
        name="brand",
        description="Only alerts for this brand.",
        pattern=BRAND_ID_PATTERN.pattern,
    ),
    Param(name="type", description="Only alerts of this type.", choices=ALERT_TYPES),
    Param(name="status", description="Only firing or resolved.", choices=("firing", "resolved")),
)
ALERTS_PARAMS: Final = (*ALERT_FILTERS, LIMIT)


@dataclass(frozen=True, slots=True)
class AlertFilter:
    brand: str | None = None
    type: str | None = None
    status: str | None = None

    @classmethod
    def from_query(cls, q: Mapping[str, Any]) -> AlertFilter:
        return cls(brand=q.get("brand"), type=q.get("type"), status=q.get("status"))

    @property
    def empty(self) -> bool:
        return self.brand is None and self.type is None and self.status is None

    def __call__(self, alert: Mapping[str, Any]) -> bool:
        return (
            (self.brand is None or alert.get("brand") == self.brand)
            and (self.type is None or alert.get("type") == self.type)
            and (self.status is None or alert.get("status") == self.status)
        )


StreamEntry = tuple[str, dict[str, str]]


def stream_entries(raw: Any) -> list[StreamEntry]:
    """XRANGE/XREVRANGE entries as typed pairs (the client is built with decode_responses)."""
    return [(str(entry_id), dict(fields or {})) for entry_id, fields in raw or ()]


def decode_alert(entry_id: str, fields: Mapping[str, str]) -> dict[str, Any] | None:
    """The alert of one stream entry, or None (logged) when the entry is not one."""
    raw = fields.get("alert")
    try:
        alert = None if raw is None else loads(raw)
    except JSONDecodeError:
        alert = None
    if not isinstance(alert, dict):
        log.warning("skipping malformed alert stream entry", entry_id=entry_id)
        return None
    return alert


# --- handlers ---------------------------------------------------------------------------------
async def list_creators(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    q = parse_query(CREATORS_PARAMS, request.query)
    tier, community, limit = q["tier"], q["community"], q["limit"]
    if tier is not None and community is not None:
        docs = await ctx.tables.top_creators(
            sort=q["sort"], community=community, limit=_COMBINED_FILTER_SCAN
        )
        docs = [d for d in docs if d.get("tier") == tier][:limit]
    else:
        docs = await ctx.tables.top_creators(
            sort=q["sort"], tier=tier, community=community, limit=limit
        )
    return json_response(docs)


async def get_creator(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    parse_query((), request.query)
    creator_id = parse_path(CREATOR_PARAMS, request.match_info)["creator_id"]
    doc = await ctx.tables.creator_detail(creator_id)
    if doc is None:
        raise ApiError(404, "not_found", f"unknown creator {creator_id[:80]!r}")
    return json_response(doc)


async def list_brands(request: web.Request) -> web.StreamResponse:
    parse_query((), request.query)
    return json_response(await request.app[CTX].brands.brands())


async def get_brand(request: web.Request) -> web.StreamResponse:
    parse_query((), request.query)
    brand = parse_path((BRAND_PATH,), request.match_info)["brand"]
    doc = await request.app[CTX].brands.brand(brand)
    if doc is None:
        raise ApiError(404, "not_found", f"unknown brand {brand!r}")
    return json_response(doc)


async def list_communities(request: web.Request) -> web.StreamResponse:
    parse_query((), request.query)
    names = await request.app[CTX].tables.communities()
    return json_response(names[:_MAX_COMMUNITIES])


async def list_alerts(request: web.Request) -> web.StreamResponse:
    """Newest first. ``X-Last-Event-ID`` is the stream's newest id at read time: open the live
    stream with it as ``Last-Event-ID`` and nothing is missed or repeated."""
    ctx = request.app[CTX]
    q = parse_query(ALERTS_PARAMS, request.query)
    keep, limit = AlertFilter.from_query(q), q["limit"]
    page = limit if keep.empty else _ALERT_PAGE
    matched: list[dict[str, Any]] = []
    newest: str | None = None
    upper, scanned = "+", 0
    while len(matched) < limit and scanned < _ALERT_SCAN_MAX:
        entries = stream_entries(
            await ctx.redis.xrevrange(ctx.keys.alerts_stream, max=upper, min="-", count=page)
        )
        if not entries:
            break
        newest = newest or entries[0][0]
        for entry_id, fields in entries:
            scanned += 1
            alert = decode_alert(entry_id, fields)
            if alert is not None and keep(alert):
                matched.append(alert)
                if len(matched) == limit:
                    break
        if len(entries) < page:
            break
        upper = f"({entries[-1][0]}"
    return json_response(matched, headers={"X-Last-Event-ID": newest or "0-0"})


async def healthz(request: web.Request) -> web.StreamResponse:
    """Liveness: answers while the process runs; says whether Redis answers too."""
    ctx = request.app[CTX]
    try:
        async with asyncio.timeout(1.0):
            await ctx.redis.ping()
        redis_state = "ok"
    except (RedisConnectionError, RedisTimeoutError, TimeoutError, OSError):
        redis_state = "unreachable"
    return json_response({"status": "ok", "redis": redis_state})


def _file(ctx: WebContext, name: str) -> web.StreamResponse:
    path = ctx.static_files.get(name)
    if path is None:
        raise ApiError(404, "not_found", "no such file")
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


async def dashboard(request: web.Request) -> web.StreamResponse:
    return _file(request.app[CTX], "index.html")


STATIC_PARAMS: Final = (
    Param(
        name="name",
        where="path",
        description="A file of the dashboard (only files shipped in monitor/web/static).",
        pattern=_STATIC_NAME.pattern,
        example="app.js",
    ),
)


async def static_file(request: web.Request) -> web.StreamResponse:
    # Names are looked up in the list made at start; nothing from the URL reaches the filesystem.
    return _file(request.app[CTX], request.match_info["name"])


__all__ = [
    "ALERTS_PARAMS",
    "ALERT_FILTERS",
    "BRAND_PATH",
    "CREATORS_PARAMS",
    "CREATOR_PARAMS",
    "CTX",
    "STATIC_PARAMS",
    "STREAM_ID_PATTERN",
    "AlertFilter",
    "ApiError",
    "WebContext",
    "decode_alert",
    "error_body",
    "json_response",
    "scan_static",
    "stream_entries",
]
