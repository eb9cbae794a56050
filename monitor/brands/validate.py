"""Brand rules from untrusted input: a TOML file (``[brands.<id>]`` tables) or a topic record.

Both go through the same validation, which reports every problem at once, one per line, each
naming the brand and the field. The Slack webhook is a secret: it is never quoted in an error.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from typing import Final, TypeGuard
from urllib.parse import urlsplit

from monitor.brands.quiet import parse_quiet_hours, zone
from monitor.brands.rules import (
    BRAND_ID_PATTERN,
    GROWTH_KEYS,
    SEVERITIES,
    SPIKE_KEYS,
    BrandRule,
    GrowthOverrides,
    SpikeOverrides,
)
from monitor.brands.text import normalize
from monitor.settings import Secret
from schemas.codec import JSONDecodeError, loads
from schemas.records import ALERT_TYPES, AlertType, Severity

_BRAND_KEYS: Final = frozenset(
    {
        "name",
        "terms",
        "exclude",
        "slack_webhook",
        "watch_creators",
        "spike",
        "growth",
        "alert_types",
        "min_severity",
        "quiet_hours",
        "timezone",
    }
)
_TOML_TYPE_NAMES: Final = {
    bool: "a boolean",
    int: "an integer",
    float: "a float",
    str: "a string",
    list: "an array",
    dict: "a table",
}


class RuleError(ValueError):
    """Invalid brand rules: one line per problem, each naming the brand and the field."""

    def __init__(self, *problems: str) -> None:
        self.problems: tuple[str, ...] = problems
        super().__init__("\n".join(problems))


class _Problems:
    """Collects problem lines for one brand, each prefixed with the brand and the field."""

    __slots__ = ("brand_id", "lines")

    def __init__(self, brand_id: str, lines: list[str]) -> None:
        self.brand_id = brand_id
        self.lines = lines

    def add(self, field_name: str, message: str) -> None:
        self.lines.append(f"brand {self.brand_id!r}: field {field_name!r}: {message}")


def _kind(value: object) -> str:
    """How TOML (and JSON) users would name the value's type."""
    for py_type, name in _TOML_TYPE_NAMES.items():
        if type(value) is py_type:
            return name
    return "null" if value is None else f"a {type(value).__name__}"


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _phrase_problem(kind: str, phrase: str) -> str | None:
    """Why a term or exclude phrase cannot be matched sensibly, or None when it can."""
    if not phrase.strip():
        return f"{kind} {phrase!r} is empty"
    core = normalize(phrase).strip()
    alnum = sum(c.isalnum() for c in core)
    if alnum == 0:
        return f"{kind} {phrase!r} has no letters or digits"
    if alnum == 1:
        shape = "is a single character" if len(core) == 1 else "has only one letter or digit"
        return f"{kind} {phrase!r} {shape} and would match almost everything"
    return None


def _strings(p: _Problems, name: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        p.add(name, f"must be an array of strings, got {_kind(value)}")
        return ()
    good: list[str] = []
    for i, item in enumerate(value, start=1):
        if isinstance(item, str):
            good.append(item)
        else:
            p.add(name, f"item {i} must be a string, got {_kind(item)}")
    return tuple(good)


def _phrases(
    p: _Problems, name: str, value: object, *, kind: str, required: bool
) -> tuple[str, ...]:
    if value is None:
        if required:
            p.add(name, f"is required: a list of at least one {kind}")
        return ()
    phrases = _strings(p, name, value)
    if required and isinstance(value, list) and not value:
        p.add(name, f"must list at least one {kind}")
    for phrase in phrases:
        problem = _phrase_problem(kind, phrase)
        if problem is not None:
            p.add(name, problem)
    return phrases


def _name(p: _Problems, table: Mapping[str, object]) -> str:
    value = table.get("name")
    if value is None:
        p.add("name", "is required (the brand's display name)")
        return ""
    if not isinstance(value, str):
        p.add("name", f"must be a string, got {_kind(value)}")
        return ""
    if not value.strip():
        p.add("name", "must not be blank")
    return value


def _webhook(p: _Problems, value: object) -> Secret | None:
    # Never quote the value: a Slack webhook URL is itself the credential.
    if value is None:
        return None
    if not isinstance(value, str):
        p.add("slack_webhook", f"must be a string URL, got {_kind(value)} (value not shown)")
        return None
    try:
        parts = urlsplit(value)
        ok = parts.scheme in {"http", "https"} and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok or any(c.isspace() for c in value):
        p.add(
            "slack_webhook", "must be an http:// or https:// URL (value not shown: it is a secret)"
        )
        return None
    return Secret(value)


def _creators(p: _Problems, value: object) -> tuple[str, ...]:
    creators = _strings(p, "watch_creators", value)
    for creator in creators:
        if not creator.strip():
            p.add("watch_creators", "creator ids must not be blank")
    return tuple(dict.fromkeys(creators))


def _override_table(
    p: _Problems, name: str, value: object, known: tuple[str, ...]
) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        p.add(name, f"must be a table, got {_kind(value)}")
        return {}
    for key in value:
        if key not in known:
            p.add(f"{name}.{key}", f"unknown key; expected one of {', '.join(known)}")
    return {k: v for k, v in value.items() if v is not None}


def _count(p: _Problems, name: str, table: Mapping[str, object], key: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if not _is_int(value) or value < 1:
        p.add(f"{name}.{key}", f"must be an integer >= 1, got {value!r}")
        return None
    return value


def _positive(p: _Problems, name: str, table: Mapping[str, object], key: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if not _is_number(value) or not math.isfinite(value) or value <= 0:
        p.add(f"{name}.{key}", f"must be a number > 0, got {value!r}")
        return None
    return float(value)


def _p_value(p: _Problems, name: str, table: Mapping[str, object], key: str) -> float | None:
    value = table.get(key)
    if value is None:
        return None
    if not _is_number(value) or not 0 < value < 1:
        p.add(f"{name}.{key}", f"must be a p-value between 0 and 1 (exclusive), got {value!r}")
        return None
    return float(value)


def _spike(p: _Problems, value: object) -> SpikeOverrides:
    table = _override_table(p, "spike", value, SPIKE_KEYS)
    return SpikeOverrides(
        min_count=_count(p, "spike", table, "min_count"),
        window_min=_count(p, "spike", table, "window_min"),
        threshold=_p_value(p, "spike", table, "threshold"),
        absolute_threshold=_count(p, "spike", table, "absolute_threshold"),
    )


def _growth(p: _Problems, value: object) -> GrowthOverrides:
    table = _override_table(p, "growth", value, GROWTH_KEYS)
    return GrowthOverrides(
        min_pct=_positive(p, "growth", table, "min_pct"),
        min_abs=_count(p, "growth", table, "min_abs"),
    )


def _alert_types(p: _Problems, value: object) -> tuple[AlertType, ...] | None:
    if value is None:
        return None
    if isinstance(value, list) and not value:
        # An empty filter would silently drop every alert; leaving it out means "all types".
        p.add("alert_types", "must list at least one alert type, or be left out for all types")
        return None
    chosen: list[AlertType] = []
    for item in _strings(p, "alert_types", value):
        known = next((t for t in ALERT_TYPES if t == item), None)
        if known is None:
            p.add("alert_types", f"unknown alert type {item!r}; expected {', '.join(ALERT_TYPES)}")
        elif known not in chosen:
            chosen.append(known)
    return tuple(chosen)


def _min_severity(p: _Problems, value: object) -> Severity | None:
    if value is None:
        return None
    known = next((s for s in SEVERITIES if s == value), None)
    if known is None:
        p.add("min_severity", f"must be one of {', '.join(SEVERITIES)}, got {value!r}")
    return known


def _quiet(p: _Problems, field_name: str, value: object) -> str | None:
    """``quiet_hours`` or ``timezone``: a string the quiet-hours module accepts."""
    if value is None:
        return None
    if not isinstance(value, str):
        p.add(field_name, f"must be a string, got {_kind(value)}")
        return None
    try:
        if field_name == "quiet_hours":
            parse_quiet_hours(value)
        else:
            zone(value)
    except ValueError as exc:
        p.add(field_name, str(exc))
        return None
    return value


def _brand_rule(brand_id: str, table: object, lines: list[str]) -> BrandRule | None:
    """Validate one brand's table; append its problems to ``lines`` (None if there were any)."""
    p = _Problems(brand_id, lines)
    before = len(lines)
    if not BRAND_ID_PATTERN.fullmatch(brand_id):
        p.add("id", f"brand ids must match ^{BRAND_ID_PATTERN.pattern}$")
    if not isinstance(table, dict):
        p.add("*", f"[brands.{brand_id}] must be a table of fields, got {_kind(table)}")
        return None
    for key in table:
        if key not in _BRAND_KEYS:
            p.add(key, f"unknown key; expected one of {', '.join(sorted(_BRAND_KEYS))}")
    rule = BrandRule(
        brand_id=brand_id,
        name=_name(p, table),
        terms=_phrases(p, "terms", table.get("terms"), kind="term", required=True),
        exclude=_phrases(p, "exclude", table.get("exclude"), kind="phrase", required=False),
        slack_webhook=_webhook(p, table.get("slack_webhook")),
        watch_creators=_creators(p, table.get("watch_creators", [])),
        spike=_spike(p, table.get("spike")),
        growth=_growth(p, table.get("growth")),
        alert_types=_alert_types(p, table.get("alert_types")),
        min_severity=_min_severity(p, table.get("min_severity")),
        quiet_hours=_quiet(p, "quiet_hours", table.get("quiet_hours")),
        timezone=_quiet(p, "timezone", table.get("timezone")),
    )
    return rule if len(lines) == before else None


def parse_rules_toml(text: str) -> dict[str, BrandRule]:
    """Every ``[brands.<id>]`` table of a rules file, validated; RuleError lists all problems."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"rules: not valid TOML: {exc}") from None
    lines: list[str] = [
        f"rules: unknown top-level key {key!r}; brand rules go in [brands.<id>] tables"
        for key in data
        if key != "brands"
    ]
    brands = data.get("brands", {})
    if not isinstance(brands, dict):
        lines.append(f"rules: 'brands' must hold [brands.<id>] tables, got {_kind(brands)}")
        brands = {}
    rules: dict[str, BrandRule] = {}
    for brand_id, table in brands.items():
        rule = _brand_rule(brand_id, table, lines)
        if rule is not None:
            rules[brand_id] = rule
    if lines:
        raise RuleError(*lines)
    return rules


def rule_from_json(brand_id: str, data: bytes) -> BrandRule:
    """Decode and validate a ``monitor.rules`` record (key ``brand_id``) like a TOML table."""
    try:
        record = loads(data)
    except JSONDecodeError as exc:
        raise RuleError(f"brand {brand_id!r}: field '*': record is not valid JSON: {exc}") from None
    lines: list[str] = []
    if isinstance(record, dict):
        record_id = record.pop("brand_id", brand_id)
        if record_id != brand_id:
            lines.append(
                f"brand {brand_id!r}: field 'brand_id': record names brand {record_id!r}, "
                "not its key"
            )
        # The record spells "not set" as null; TOML spells it by leaving the key out.
        record = {k: v for k, v in record.items() if v is not None}
    rule = _brand_rule(brand_id, record, lines)
    if rule is None or lines:
        raise RuleError(*lines)
    return rule


__all__ = ["RuleError", "parse_rules_toml", "rule_from_json"]
