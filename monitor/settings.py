"""One typed settings object, read from ``MONITOR_*`` variables and an optional TOML file.

Precedence: defaults < TOML file (``--config``) < environment. Every invalid value fails at start
with a message naming the setting, so a typo never turns into a silent default.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

ENV_PREFIX = "MONITOR_"

LogFormat = Literal["auto", "json", "console"]
LogLevel = Literal["debug", "info", "warning", "error"]
KafkaSecurity = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


class Secret(str):
    """A string that never shows itself in ``repr``/``str`` formatting of containers or logs."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Secret('***')"

    def reveal(self) -> str:
        return str.__str__(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    kafka: str = "localhost:9092"
    redis: Secret = Secret("redis://localhost:6379/0")  # noqa: RUF009  # immutable str subclass
    namespace: str = ""
    api_token: Secret | None = None
    slack_webhook: Secret | None = None
    web_port: int = 8080
    web_host: str = "127.0.0.1"

    topic_partitions: int = 4
    topic_replication: int = 1
    kafka_security_protocol: KafkaSecurity = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "PLAIN"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: Secret | None = None
    kafka_ssl_cafile: str | None = None

    retention_s: int = 8 * 24 * 3600
    future_tolerance_s: int = 24 * 3600
    batch_max: int = 2000
    batch_within_s: float = 0.05
    redis_timeout_s: float = 5.0
    redis_retry_max_s: float = 30.0
    leaderboard_refresh_s: float = 0.5
    partition_idle_s: float = 10.0
    detect_interval_s: float = 0.05  # mention spikes: how often closed minutes are looked for
    detect_steps_interval_s: float = 0.5  # creator detectors: five-minute steps
    # A worker that only ingests: its detectors never run, so detection can be started later (a
    # worker without it judges every step from where the detectors' state left off).
    detect_parked: bool = False

    tier_micro_min: int = 1_000
    tier_macro_min: int = 100_000
    tier_mega_min: int = 1_000_000

    broker_session_timeout_s: float = 10.0
    broker_rebalance_timeout_s: float = 20.0

    # Operations: a partition whose records wait this long without progress is stalled; the
    # worker and the notifier serve /metrics and /healthz on metrics_port (None: off).
    stall_s: float = 60.0
    metrics_port: int | None = None

    log_level: LogLevel = "info"
    log_format: LogFormat = "auto"

    def topic(self, name: str) -> str:
        """The namespaced Kafka topic name for a contract topic (``social.posts`` ...)."""
        return f"{self.namespace}{name}"

    def group_id(self, role: str) -> str:
        return f"{self.namespace}monitor-{role}"

    @property
    def redis_prefix(self) -> str:
        return f"{self.namespace}sm:"


_SECRET_NAMES = frozenset(f.name for f in fields(Settings) if "Secret" in str(f.type))


def _bool(label: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{label}: must be true or false, got {raw!r}")


def _number(label: str, kind: type[int] | type[float], raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise SettingsError(f"{label}: must be a number, got {raw!r}")
    try:
        return kind(str(raw).strip())
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise SettingsError(f"{label}: must be {noun}, got {raw!r}") from None


def _choice(label: str, choices: tuple[Any, ...], raw: Any) -> Any:
    text = str(raw).lower()
    for choice in choices:
        if str(choice).lower() == text:
            return choice
    raise SettingsError(f"{label}: must be one of {', '.join(map(str, choices))}, got {raw!r}")


def _coerce(name: str, hint: Any, raw: Any) -> Any:
    """Turn a raw env/TOML value into the field's type, or raise SettingsError naming it."""
    label = f"{ENV_PREFIX}{name.upper()}"
    if get_origin(hint) is not None and type(None) in get_args(hint):
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        hint = next(a for a in get_args(hint) if a is not type(None))
    if get_origin(hint) is Literal:
        return _choice(label, get_args(hint), raw)
    if hint is bool:
        return _bool(label, raw)
    if hint in (int, float):
        return _number(label, hint, raw)
    if hint is Secret:
        return Secret(str(raw))
    return str(raw)


_POSITIVE = (
    "batch_within_s",
    "redis_timeout_s",
    "redis_retry_max_s",
    "leaderboard_refresh_s",
    "partition_idle_s",
    "detect_interval_s",
    "detect_steps_interval_s",
    "broker_session_timeout_s",
    "broker_rebalance_timeout_s",
    "stall_s",
)


def _bad(name: str, why: str) -> SettingsError:
    return SettingsError(f"{ENV_PREFIX}{name.upper()}: {why}")


def _check_numbers(s: Settings) -> None:
    if not (1 <= s.web_port <= 65535):
        raise _bad("web_port", f"must be between 1 and 65535, got {s.web_port}")
    if s.metrics_port is not None and not (1 <= s.metrics_port <= 65535):
        raise _bad("metrics_port", f"must be between 1 and 65535, got {s.metrics_port}")
    for name in ("topic_partitions", "topic_replication", "batch_max", "retention_s"):
        if getattr(s, name) < 1:
            raise _bad(name, f"must be at least 1, got {getattr(s, name)}")
    for name in _POSITIVE:
        value = getattr(s, name)
        if not math.isfinite(value) or value <= 0:
            raise _bad(name, f"must be a finite number greater than 0, got {value}")
    if s.future_tolerance_s < 0:
        raise _bad("future_tolerance_s", f"must be >= 0, got {s.future_tolerance_s}")
    if not s.tier_micro_min < s.tier_macro_min:
        raise _bad("tier_macro_min", "must be greater than MONITOR_TIER_MICRO_MIN")
    if not s.tier_macro_min < s.tier_mega_min:
        raise _bad("tier_mega_min", "must be greater than MONITOR_TIER_MACRO_MIN")
    if s.tier_micro_min < 1:
        raise _bad("tier_micro_min", "must be at least 1")


def _check_endpoints(s: Settings) -> None:
    for hp in s.kafka.split(","):
        host, _, port = hp.strip().rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise _bad("kafka", "must be host:port[,host:port...] with ports 1..65535")
    parts = urlsplit(s.redis.reveal())
    if parts.scheme not in {"redis", "rediss", "unix"}:
        # The URL may hold a password: show only its scheme.
        raise _bad(
            "redis", f"must be a redis://, rediss:// or unix:// URL (scheme was {parts.scheme!r})"
        )
    try:
        parts.port  # noqa: B018  # raises ValueError for a port that is not a number
    except ValueError:
        raise _bad("redis", "the port is not a number 0..65535") from None
    if s.slack_webhook is not None:
        hook = urlsplit(s.slack_webhook.reveal())
        if hook.scheme not in {"http", "https"} or not hook.netloc:
            raise _bad("slack_webhook", "must be an http(s) URL")


def _check(s: Settings) -> None:
    _check_numbers(s)
    _check_endpoints(s)
    if s.namespace and not all(c.isalnum() or c in "._-" for c in s.namespace):
        raise _bad("namespace", "may hold only letters, digits, '.', '_' and '-'")


def load_settings(
    *, config_file: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from defaults, then the TOML file, then ``MONITOR_*`` variables."""
    env = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    if config_file is not None:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError(f"--config: file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"--config: {path} is not valid TOML: {exc}") from None
        section = data.get("monitor", data)
        for key, raw in section.items():
            if key not in known:
                raise SettingsError(f"--config: unknown setting {key!r} in {path}")
            values[key] = _coerce(key, hints[key], raw)
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in known:
            # Tolerate foreign MONITOR_* variables, but not typos of ours.
            close = [k for k in known if k.replace("_", "") == name.replace("_", "")]
            if close:
                raise SettingsError(
                    f"{key}: unknown setting; did you mean {ENV_PREFIX}{close[0].upper()}?"
                )
            continue
        values[name] = _coerce(name, hints[name], raw)
    settings = Settings(**values)
    _check(settings)
    return settings


def public_view(settings: Settings) -> dict[str, Any]:
    """Settings as a dict safe to log or serve: secrets masked, URL passwords removed."""
    out: dict[str, Any] = {}
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name in _SECRET_NAMES and f.name != "redis":
            out[f.name] = None if value is None else "***"
        elif f.name == "redis":
            parts = urlsplit(value.reveal())
            host = parts.hostname or ""
            if ":" in host:
                host = f"[{host}]"  # IPv6
            port = f":{parts.port}" if parts.port else ""
            out[f.name] = f"{parts.scheme}://{host}{port}{parts.path}"
        else:
            out[f.name] = value
    return out


def replace(settings: Settings, **changes: Any) -> Settings:
    """A copy with some values changed, validated like a fresh load."""
    new = dataclasses.replace(settings, **changes)
    _check(new)
    return new


__all__ = [
    "Secret",
    "Settings",
    "SettingsError",
    "load_settings",
    "public_view",
    "replace",
]
