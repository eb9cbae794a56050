"""JSON Schemas of the API's answers, for ``/api/openapi.json`` (the route table refers to them)."""

from __future__ import annotations

from typing import Any, Final

from monitor.core.metrics import SORTABLE_METRICS
from schemas.records import ALERT_TYPES


def ref(name: str) -> dict[str, str]:
    """A reference to one of :data:`SCHEMAS`."""
    return {"$ref": f"#/components/schemas/{name}"}


_NUM_OR_NULL: Final = {"type": ["number", "null"]}
SCHEMAS: Final[dict[str, Any]] = {
    "Creator": {
        "type": "object",
        "description": "A creator's live metrics (the contract's live tables).",
        "required": ["creator_id", "tier", "followers", "as_of_ms"],
        "properties": {
            "creator_id": {"type": "string"},
            "platform": {"type": ["string", "null"]},
            "community": {"type": ["string", "null"]},
            "tier": {"type": ["string", "null"], "enum": ["nano", "micro", "macro", "mega", None]},
            **{m: _NUM_OR_NULL for m in SORTABLE_METRICS},
            "mentions_24h": {"type": "object", "additionalProperties": {"type": "integer"}},
            "as_of_ms": {"type": "integer"},
        },
    },
    "CreatorDetail": {
        "allOf": [
            ref("Creator"),
            {
                "type": "object",
                "properties": {
                    "series": {
                        "type": "object",
                        "properties": {
                            "followers": {"type": "array", "items": {"type": "object"}},
                            "hourly": {"type": "array", "items": {"type": "object"}},
                        },
                    }
                },
            },
        ]
    },
    "BrandSummary": {
        "type": "object",
        "required": ["brand", "name", "mentions", "window_min", "baseline"],
        "properties": {
            "brand": {"type": "string"},
            "name": {"type": "string"},
            "configured": {"type": "boolean"},
            "window_min": {"type": "integer"},
            "mentions": {"type": "integer", "description": "mentions in the current window"},
            "negative": {"type": "integer"},
            "baseline": _NUM_OR_NULL,
            "band": {"type": ["object", "null"]},
            "ratio": _NUM_OR_NULL,
            "last_mention_ms": {"type": ["integer", "null"]},
            "as_of_ms": {"type": "integer"},
        },
    },
    "Brand": {
        "allOf": [
            ref("BrandSummary"),
            {
                "type": "object",
                "properties": {
                    "rule": {"type": ["object", "null"], "description": "webhook masked"},
                    "timeline": {"type": "array", "items": {"type": "object"}},
                    "top_creators": {"type": "array", "items": {"type": "object"}},
                    "evidence": {"type": "array", "items": {"type": "object"}},
                },
            },
        ]
    },
    "Alert": {
        "type": "object",
        "required": ["alert_id", "type", "status", "severity", "summary", "event_time"],
        "properties": {
            "alert_id": {"type": "string"},
            "type": {"type": "string", "enum": list(ALERT_TYPES)},
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "severity": {"type": "string"},
            "brand": {"type": ["string", "null"]},
            "creator_id": {"type": ["string", "null"]},
            "community": {"type": ["string", "null"]},
            "window": {"type": "string"},
            "value": {"type": "number"},
            "baseline": _NUM_OR_NULL,
            "summary": {"type": "string"},
            "event_time": {"type": "string", "format": "date-time"},
            "detected_at": {"type": "string", "format": "date-time"},
            "evidence": {"type": "object"},
            "silenced_by": {"type": "string", "description": "the silence keeping it from Slack"},
        },
    },
}


def array_of(name: str) -> dict[str, Any]:
    """An array of one of :data:`SCHEMAS`."""
    return {"type": "array", "items": ref(name)}


__all__ = ["SCHEMAS", "array_of", "ref"]
