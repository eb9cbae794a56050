"""``GET/POST/DELETE /api/silences``: the web API's side of ``monitor silence`` (same store).

POST takes a JSON object (``brand``, ``until``, ``comment``; optional ``type``, ``creator``,
``created_by``); DELETE takes ``?id=`` and expires that silence now, as Alertmanager's delete
does: the record stays, listed as expired, for a day.
"""

from __future__ import annotations

import time
from typing import Any, Final

from aiohttp import web

from monitor.silence.model import COMMENT_MAX, SilenceError, new_silence
from monitor.silence.store import SilenceStore
from monitor.web.api import CTX, ApiError, json_response
from monitor.web.openapi import Param, ParamError, parse_query
from schemas.codec import JSONDecodeError, loads
from schemas.records import ALERT_TYPES

SILENCE_ID: Final = Param(
    name="id",
    description="The silence's id (from POST or GET /api/silences).",
    pattern=r"[0-9a-f]{32}",
    example="0f3a9c1e2b4d4e6f8a0b1c2d3e4f5a6b",
)

SILENCE_SCHEMA: Final = {
    "type": "object",
    "required": ["id", "brand", "ends_at", "comment", "created_at", "state"],
    "properties": {
        "id": {"type": "string"},
        "brand": {"type": "string"},
        "type": {"type": ["string", "null"], "enum": [*ALERT_TYPES, None]},
        "creator_id": {"type": ["string", "null"]},
        "ends_at": {"type": "string", "format": "date-time"},
        "comment": {"type": "string", "maxLength": COMMENT_MAX},
        "created_at": {"type": "string", "format": "date-time"},
        "created_by": {"type": ["string", "null"]},
        "state": {"type": "string", "enum": ["active", "expired"]},
    },
}

SILENCE_REQUEST: Final = {
    "type": "object",
    "required": ["brand", "until", "comment"],
    "properties": {
        "brand": {"type": "string"},
        "type": {"type": "string", "enum": list(ALERT_TYPES)},
        "creator": {"type": "string"},
        "until": {"type": "string", "description": "RFC 3339 with an offset, or 90m, 2h, 1d"},
        "comment": {"type": "string", "maxLength": COMMENT_MAX},
        "created_by": {"type": "string"},
    },
}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _store(request: web.Request) -> SilenceStore:
    ctx = request.app[CTX]
    return SilenceStore(ctx.redis, ctx.keys)


async def list_silences(request: web.Request) -> web.StreamResponse:
    parse_query((), request.query)
    now_ms = _now_ms()
    return json_response([s.public(now_ms) for s in await _store(request).all(now_ms)])


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = loads(await request.read())
    except JSONDecodeError:
        raise ParamError("body", "must be a JSON object") from None
    if not isinstance(data, dict):
        raise ParamError("body", "must be a JSON object")
    return data


async def add_silence(request: web.Request) -> web.StreamResponse:
    parse_query((), request.query)
    now_ms = _now_ms()
    try:
        silence = new_silence(await _body(request), now_ms=now_ms)
    except SilenceError as exc:
        raise ParamError(exc.field, exc.message) from None
    await _store(request).add(silence)
    return json_response(silence.public(now_ms))


async def expire_silence(request: web.Request) -> web.StreamResponse:
    q = parse_query((SILENCE_ID,), request.query)
    if q["id"] is None:
        raise ParamError("id", "is required")
    now_ms = _now_ms()
    ended = await _store(request).expire(q["id"], now_ms)
    if ended is None:
        raise ApiError(404, "not_found", f"no silence {q['id']}")
    return json_response(ended.public(now_ms))
