"""The route table's vocabulary, its parameter validation, and the OpenAPI document built from it.

Every route the router serves is a :class:`Route` in one table (``monitor.web.app.ROUTES``); the
router is built from that table and so is ``/api/openapi.json``, and handlers validate their
parameters with the same :class:`Param` objects the document describes. The three cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from aiohttp import web
from multidict import MultiMapping

from schemas.events import CONTROL_CHARS

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ParamIn = Literal["query", "path", "header"]

# the characters ingest refuses in ids: an id it accepted can always be asked for
_CONTROL = CONTROL_CHARS


class ParamError(ValueError):
    """A request parameter is missing, unknown or malformed; becomes a 400 naming it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class Param:
    name: str
    description: str
    where: ParamIn = "query"
    integer: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None  # must match the whole value
    default: str | int | None = None
    example: str | None = None

    def parse(self, raw: str) -> str | int:
        """The value of one raw parameter, or ParamError naming it."""
        if self.integer:
            if not re.fullmatch(r"[+-]?\d{1,9}", raw):
                raise ParamError(self.name, f"must be an integer, got {raw[:40]!r}")
            value = int(raw)
            if (self.minimum is not None and value < self.minimum) or (
                self.maximum is not None and value > self.maximum
            ):
                raise ParamError(
                    self.name, f"must be between {self.minimum} and {self.maximum}, got {value}"
                )
            return value
        if self.choices and raw not in self.choices:
            raise ParamError(
                self.name, f"must be one of {', '.join(self.choices)}; got {raw[:40]!r}"
            )
        if self.max_length is not None and len(raw) > self.max_length:
            raise ParamError(self.name, f"must be at most {self.max_length} characters")
        if _CONTROL.search(raw):
            raise ParamError(self.name, "must not contain control characters")
        if self.pattern is not None and not re.fullmatch(self.pattern, raw):
            raise ParamError(self.name, f"is malformed: must match {self.pattern}")
        return raw

    def schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "integer" if self.integer else "string"}
        if self.choices:
            out["enum"] = list(self.choices)
        for key, value in (
            ("minimum", self.minimum),
            ("maximum", self.maximum),
            ("maxLength", self.max_length),
            ("pattern", None if self.pattern is None else f"^{self.pattern}$"),
            ("default", self.default),
        ):
            if value is not None:
                out[key] = value
        return out


def parse_query(params: Sequence[Param], query: MultiMapping[str]) -> dict[str, Any]:
    """Validate a query string against the route's parameters: unknown names are errors too.

    An empty value counts as absent (``?tier=&sort=followers``), as the contract's examples show.
    """
    known = {p.name: p for p in params if p.where == "query"}
    for name in query:
        if name not in known:
            raise ParamError(name[:60], "unknown parameter")
    out: dict[str, Any] = {}
    for name, param in known.items():
        values = query.getall(name, [])
        if len(values) > 1:
            raise ParamError(name, "given more than once")
        raw = values[0] if values else ""
        out[name] = param.default if raw == "" else param.parse(raw)
    return out


def parse_path(params: Sequence[Param], match_info: Mapping[str, str]) -> dict[str, Any]:
    return {p.name: p.parse(match_info[p.name]) for p in params if p.where == "path"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Route:
    path: str  # aiohttp and OpenAPI share the ``{name}`` syntax
    handler: Handler
    operation_id: str
    summary: str
    tag: str
    method: Literal["GET", "POST", "DELETE"] = "GET"
    params: tuple[Param, ...] = ()
    content_type: str = "application/json"
    response_schema: Mapping[str, Any] | None = None
    request_schema: Mapping[str, Any] | None = None  # a JSON body (POST)
    not_found: bool = False  # whether the route answers 404 for an unknown id

    @property
    def needs_token(self) -> bool:
        return self.path.startswith("/api/")

    def example_path(self) -> str:
        """The path with each path parameter replaced by its example (for docs and tests)."""
        path = self.path
        for p in self.params:
            if p.where == "path":
                path = path.replace(f"{{{p.name}}}", p.example or "x")
        return path


_ERROR: Final = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


def _operation(route: Route) -> dict[str, Any]:
    schema = route.response_schema or {"type": "string"}
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
        "parameters": [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                "description": p.description,
                "schema": p.schema(),
                **({"example": p.example} if p.example is not None else {}),
            }
            for p in route.params
        ],
        "responses": {
            "200": {"description": "OK", "content": {route.content_type: {"schema": schema}}},
            "503": _error("Redis is unreachable; retry later"),
        },
    }
    if route.request_schema is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": route.request_schema}},
        }
    if route.needs_token:  # every /api/ handler validates its parameters, unknown ones included
        op["responses"]["400"] = _error("A parameter is unknown or malformed; `parameter` names it")
    if route.not_found:
        op["responses"]["404"] = _error("Not found")
    if route.needs_token:
        op["responses"]["401"] = _error("Missing or wrong bearer token (when auth is on)")
    else:
        op["security"] = []
    return op


def openapi_document(
    routes: Sequence[Route], *, version: str, schemas: Mapping[str, Any]
) -> dict[str, Any]:
    """OpenAPI 3.1 for exactly the given routes."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Community signal monitor: web view",
            "version": version,
            "description": (
                "Live creator tables, brand mentions and alerts, read from Redis. When "
                "MONITOR_API_TOKEN is set every /api/ call needs `Authorization: Bearer <token>`; "
                "the alert stream also takes `?access_token=` because EventSource cannot send "
                "headers. /healthz, /metrics and the dashboard's static files are open."
            ),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string", "description": "machine-readable code"},
                        "message": {"type": "string"},
                        "parameter": {"type": "string", "description": "the offending parameter"},
                    },
                },
                **schemas,
            },
        },
        "security": [{"bearer": []}],
    }


__all__ = [
    "Handler",
    "Param",
    "ParamError",
    "Route",
    "openapi_document",
    "parse_path",
    "parse_query",
]
