"""``/api/alerts/stream``: the alert stream as server-sent events, resumable by ``Last-Event-ID``.

Each event's ``id:`` is its Redis stream entry id, so a client that reconnects with
``Last-Event-ID`` (EventSource does this by itself) gets every alert it missed that the capped
stream still holds. The loop is an ``XREAD BLOCK`` with a short timeout: between reads it notices
disconnected clients and server shutdown, and it sends a keep-alive comment when it has been quiet.
Each client reads through a Redis connection of its own, closed when it leaves: a blocking read
holds its connection for the whole wait, so reads from the shared pool (redis-py caps it at 100)
would starve every other request once a hundred clients listen. The number of clients per process
is capped.
"""

from __future__ import annotations

import time
from typing import Any, Final

import redis.asyncio as aioredis
from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from monitor.logs import get_logger
from monitor.web.api import (
    ALERT_FILTERS,
    CTX,
    STREAM_ID_PATTERN,
    AlertFilter,
    ApiError,
    WebContext,
    decode_alert,
    stream_entries,
)
from monitor.web.openapi import Param, parse_query
from schemas.codec import dumps

log = get_logger(__name__)

RETRY_MS: Final = 3_000
_READ_COUNT: Final = 100
_MAX_BLOCK_S: Final = 2.0

LAST_EVENT_HEADER: Final = Param(
    name="Last-Event-ID",
    where="header",
    description="Resume after this event id (sent by EventSource when it reconnects).",
    pattern=STREAM_ID_PATTERN,
)
STREAM_PARAMS: Final = (
    *ALERT_FILTERS,
    Param(
        name="last_event_id",
        description="Resume after this event id, for clients that cannot set the header.",
        pattern=STREAM_ID_PATTERN,
    ),
    Param(
        name="access_token",
        description=(
            "The API token, for EventSource clients that cannot send an Authorization header. "
            "Only this route accepts it."
        ),
        max_length=1024,
    ),
    LAST_EVENT_HEADER,
)


def _event(entry_id: str, alert: dict[str, Any], raw: str) -> bytes:
    # The stored JSON goes out as is unless it spans lines (SSE data is line-based).
    data = raw if "\n" not in raw and "\r" not in raw else dumps(alert).decode()
    return f"id: {entry_id}\ndata: {data}\n\n".encode()


async def _newest_id(redis: aioredis.Redis, stream: str) -> str:
    newest = stream_entries(await redis.xrevrange(stream, count=1))
    return newest[0][0] if newest else "0-0"


def _own_client(redis: aioredis.Redis) -> aioredis.Redis:
    """A client with one connection of its own, made like the shared pool's."""
    pool = redis.connection_pool
    own = type(pool)(
        connection_class=pool.connection_class, max_connections=1, **pool.connection_kwargs
    )
    return aioredis.Redis(connection_pool=own)


async def alert_stream(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    q = parse_query(STREAM_PARAMS, request.query)
    keep = AlertFilter.from_query(q)
    header = request.headers.get(LAST_EVENT_HEADER.name, "")
    resume = LAST_EVENT_HEADER.parse(header) if header else q["last_event_id"]
    if ctx.stream_clients >= ctx.max_stream_clients:
        raise ApiError(
            503,
            "too_many_clients",
            "too many live alert clients on this server; retry later",
            headers={"Retry-After": "5"},
        )
    ctx.stream_clients += 1
    redis = _own_client(ctx.redis)
    try:
        cursor = str(resume) if resume else await _newest_id(redis, ctx.keys.alerts_stream)
        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # a buffering proxy would hold the events back
            }
        )
        try:
            await resp.prepare(request)
        except ConnectionResetError:
            return resp  # the client left before the headers went out: nothing to answer
        log.info("alert stream opened", resume=resume, cursor=cursor, filters=str(keep))
        sent, reason = await _pump(request, resp, ctx, redis, keep, cursor)
        log.info("alert stream closed", sent=sent, reason=reason)
        return resp
    finally:
        ctx.stream_clients -= 1
        await redis.aclose(close_connection_pool=True)


async def _pump(
    request: web.Request,
    resp: web.StreamResponse,
    ctx: WebContext,
    redis: aioredis.Redis,
    keep: AlertFilter,
    cursor: str,
) -> tuple[int, str]:
    """Send alerts after ``cursor`` until the client leaves or the server stops."""
    block_ms = int(
        1000 * max(0.05, min(ctx.keepalive_s, _MAX_BLOCK_S, ctx.settings.redis_timeout_s / 2))
    )
    stream = ctx.keys.alerts_stream
    sent = 0
    try:
        await resp.write(f"retry: {RETRY_MS}\n: connected\n\n".encode())
        quiet_since = time.monotonic()
        while not ctx.closing.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                return sent, "client left"
            reply: Any = await redis.xread({stream: cursor}, count=_READ_COUNT, block=block_ms)
            chunks: list[bytes] = []
            last_sent = None
            for _, raw_entries in reply or ():
                for entry_id, fields in stream_entries(raw_entries):
                    cursor = entry_id
                    alert = decode_alert(entry_id, fields)
                    if alert is None or not keep(alert):
                        continue
                    chunks.append(_event(entry_id, alert, fields["alert"]))
                    last_sent = entry_id
                    sent += 1
            if reply and last_sent != cursor:
                # Entries the filter skipped still move the client's Last-Event-ID forward.
                chunks.append(f"id: {cursor}\n\n".encode())
            now = time.monotonic()
            if chunks:
                await resp.write(b"".join(chunks))
                quiet_since = now
            elif now - quiet_since >= ctx.keepalive_s:
                await resp.write(b": keep-alive\n\n")
                quiet_since = now
        return sent, "server stopping"
    except ConnectionResetError:
        return sent, "client left"
    except (RedisConnectionError, RedisTimeoutError) as exc:
        # Headers are gone already: end the stream; the client reconnects with Last-Event-ID.
        log.warning("alert stream lost Redis", error=type(exc).__name__)
        return sent, "redis unreachable"


__all__ = ["LAST_EVENT_HEADER", "STREAM_PARAMS", "alert_stream"]
