"""Settings: contract defaults, env and TOML parsing, precedence, errors that name the setting,
secrets kept out of every printable form, and the namespace applied everywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.kafka.topics import CONTRACT_TOPICS
from monitor.settings import Secret, Settings, SettingsError, load_settings, public_view
from monitor.store.keys import Keys

SECRET_WORDS = ("hunter2", "s3cr3t-token", "XXXXhookXXXX", "sasl-pass-1")


def load(env: dict[str, str], toml: str | None = None, tmp_path: Path | None = None) -> Settings:
    if toml is None:
        return load_settings(environ=env)
    assert tmp_path is not None
    path = tmp_path / "monitor.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(config_file=path, environ=env)


def reveal(value: Any) -> Any:
    return value.reveal() if isinstance(value, Secret) else value


# --- defaults ----------------------------------------------------------------------------------


def test_contract_defaults() -> None:
    s = load_settings(environ={})
    assert s.kafka == "localhost:9092"
    assert s.redis.reveal() == "redis://localhost:6379/0"
    assert s.namespace == ""
    assert s.web_port == 8080
    assert s.api_token is None
    assert s.slack_webhook is None
    assert s == Settings()


def test_foreign_environment_is_ignored() -> None:
    s = load_settings(environ={"PATH": "/bin", "MONITORING": "x", "MONITOR_SOMETHING_ELSE": "1"})
    assert s == Settings()


# --- good values -------------------------------------------------------------------------------

GOOD_ENV: list[tuple[str, str, str, Any]] = [
    ("MONITOR_KAFKA", "kafka-1:9092,kafka-2:9093", "kafka", "kafka-1:9092,kafka-2:9093"),
    ("MONITOR_KAFKA", "127.0.0.1:9092", "kafka", "127.0.0.1:9092"),
    ("MONITOR_REDIS", "rediss://cache:6380/2", "redis", "rediss://cache:6380/2"),
    ("MONITOR_REDIS", "unix:///run/redis.sock", "redis", "unix:///run/redis.sock"),
    ("MONITOR_REDIS", "redis://:hunter2@db:6379/0", "redis", "redis://:hunter2@db:6379/0"),
    ("MONITOR_NAMESPACE", "staging.", "namespace", "staging."),
    ("MONITOR_NAMESPACE", "ci-42_a.", "namespace", "ci-42_a."),
    ("MONITOR_NAMESPACE", "", "namespace", ""),
    ("MONITOR_WEB_PORT", "9000", "web_port", 9000),
    ("MONITOR_WEB_PORT", " 9000 ", "web_port", 9000),
    ("MONITOR_WEB_PORT", "1", "web_port", 1),
    ("MONITOR_WEB_PORT", "65535", "web_port", 65535),
    ("MONITOR_API_TOKEN", "s3cr3t-token", "api_token", "s3cr3t-token"),
    ("MONITOR_API_TOKEN", "", "api_token", None),
    (
        "MONITOR_SLACK_WEBHOOK",
        "https://hooks.slack.com/services/T/B/X",
        "slack_webhook",
        "https://hooks.slack.com/services/T/B/X",
    ),
    ("MONITOR_SLACK_WEBHOOK", "", "slack_webhook", None),
    ("MONITOR_TOPIC_PARTITIONS", "12", "topic_partitions", 12),
    ("MONITOR_BATCH_MAX", "500", "batch_max", 500),
    ("MONITOR_BATCH_WITHIN_S", "0.05", "batch_within_s", 0.05),
    ("MONITOR_BATCH_WITHIN_S", "2", "batch_within_s", 2.0),
    ("MONITOR_RETENTION_S", "3600", "retention_s", 3600),
    ("MONITOR_LOG_LEVEL", "DEBUG", "log_level", "debug"),
    ("MONITOR_LOG_FORMAT", "Json", "log_format", "json"),
    ("MONITOR_KAFKA_SECURITY_PROTOCOL", "sasl_ssl", "kafka_security_protocol", "SASL_SSL"),
    ("MONITOR_KAFKA_SASL_MECHANISM", "scram-sha-512", "kafka_sasl_mechanism", "SCRAM-SHA-512"),
    ("MONITOR_KAFKA_SASL_USERNAME", "", "kafka_sasl_username", None),
    ("MONITOR_KAFKA_SASL_USERNAME", "svc", "kafka_sasl_username", "svc"),
    ("MONITOR_TIER_MICRO_MIN", "500", "tier_micro_min", 500),
    ("MONITOR_STALL_S", "5", "stall_s", 5.0),
    ("MONITOR_METRICS_PORT", "9464", "metrics_port", 9464),
    ("MONITOR_METRICS_PORT", "", "metrics_port", None),
]


@pytest.mark.parametrize(
    ("var", "raw", "attr", "want"), GOOD_ENV, ids=[f"{g[0]}={g[1]!r}" for g in GOOD_ENV]
)
def test_good_env_values(var: str, raw: str, attr: str, want: Any) -> None:
    s = load_settings(environ={var: raw})
    got = reveal(getattr(s, attr))
    assert got == want
    assert type(got) is type(want)


@pytest.mark.parametrize("attr", ["api_token", "slack_webhook", "kafka_sasl_password", "redis"])
def test_secret_settings_are_secret_typed(attr: str) -> None:
    env = {
        "MONITOR_API_TOKEN": "s3cr3t-token",
        "MONITOR_SLACK_WEBHOOK": "https://hooks.slack.com/services/T/B/XXXXhookXXXX",
        "MONITOR_KAFKA_SASL_PASSWORD": "sasl-pass-1",
    }
    assert isinstance(getattr(load_settings(environ=env), attr), Secret)


# --- bad values: SettingsError naming the variable ---------------------------------------------


BAD_ENV: list[Any] = [
    ("MONITOR_STALL_S", "0"),
    ("MONITOR_STALL_S", "nan"),
    ("MONITOR_METRICS_PORT", "0"),
    ("MONITOR_METRICS_PORT", "70000"),
    ("MONITOR_WEB_PORT", "abc"),
    ("MONITOR_WEB_PORT", ""),
    ("MONITOR_WEB_PORT", "0"),
    ("MONITOR_WEB_PORT", "-1"),
    ("MONITOR_WEB_PORT", "65536"),
    ("MONITOR_WEB_PORT", "80.5"),
    ("MONITOR_WEB_PORT", "1e3"),
    ("MONITOR_KAFKA", ""),
    ("MONITOR_KAFKA", "localhost"),
    ("MONITOR_KAFKA", "localhost:"),
    ("MONITOR_KAFKA", "a:9092,b"),
    ("MONITOR_KAFKA", "localhost:port"),
    ("MONITOR_KAFKA", "localhost:99999"),
    ("MONITOR_REDIS", ""),
    ("MONITOR_REDIS", "localhost:6379"),
    ("MONITOR_REDIS", "http://localhost:6379/0"),
    ("MONITOR_REDIS", "postgres://db/0"),
    ("MONITOR_REDIS", "redis://localhost:abc/0"),
    ("MONITOR_NAMESPACE", "a b"),
    ("MONITOR_NAMESPACE", "team/x"),
    ("MONITOR_NAMESPACE", "ns:"),
    ("MONITOR_NAMESPACE", "ns*"),
    ("MONITOR_TOPIC_PARTITIONS", "0"),
    ("MONITOR_TOPIC_PARTITIONS", "four"),
    ("MONITOR_TOPIC_PARTITIONS", "4.0"),
    ("MONITOR_TOPIC_REPLICATION", "0"),
    ("MONITOR_BATCH_MAX", "0"),
    ("MONITOR_RETENTION_S", "0"),
    ("MONITOR_RETENTION_S", "-5"),
    ("MONITOR_BATCH_WITHIN_S", "0"),
    ("MONITOR_BATCH_WITHIN_S", "-0.1"),
    ("MONITOR_BATCH_WITHIN_S", "fast"),
    ("MONITOR_BATCH_WITHIN_S", "nan"),
    ("MONITOR_REDIS_TIMEOUT_S", "0"),
    ("MONITOR_LEADERBOARD_REFRESH_S", "0"),
    ("MONITOR_PARTITION_IDLE_S", "-1"),
    ("MONITOR_DETECT_INTERVAL_S", "0"),
    ("MONITOR_DETECT_STEPS_INTERVAL_S", "-1"),
    ("MONITOR_REDIS_RETRY_MAX_S", "-1"),
    ("MONITOR_FUTURE_TOLERANCE_S", "-1"),
    ("MONITOR_BROKER_SESSION_TIMEOUT_S", "0"),
    ("MONITOR_LOG_LEVEL", "verbose"),
    ("MONITOR_LOG_FORMAT", "xml"),
    ("MONITOR_KAFKA_SECURITY_PROTOCOL", "TLS"),
    ("MONITOR_KAFKA_SASL_MECHANISM", "GSSAPI"),
    ("MONITOR_SLACK_WEBHOOK", "ftp://hooks.slack.com/XXXXhookXXXX"),
    ("MONITOR_SLACK_WEBHOOK", "hooks.slack.com/services/XXXXhookXXXX"),
    ("MONITOR_TIER_MICRO_MIN", "200000"),
    ("MONITOR_TIER_MICRO_MIN", "many"),
    ("MONITOR_TIER_MEGA_MIN", "50000"),
    ("MONITOR_TIER_MACRO_MIN", "500"),
]


def _id(case: Any) -> str:
    var, raw = case.values if hasattr(case, "values") else case
    return f"{var}={raw!r}"


def _raises_naming(env: dict[str, str], var: str, toml: str | None, tmp_path: Path) -> str:
    try:
        load(env, toml, tmp_path)
    except SettingsError as exc:
        message = str(exc)
    else:
        raise AssertionError(f"{var}: no SettingsError")
    assert var in message, message
    for word in SECRET_WORDS:
        assert word not in message
    return message


@pytest.mark.parametrize(("var", "raw"), BAD_ENV, ids=[_id(c) for c in BAD_ENV])
def test_bad_env_value_raises_naming_the_variable(var: str, raw: str, tmp_path: Path) -> None:
    _raises_naming({var: raw}, var, None, tmp_path)


def test_typo_in_a_variable_name_suggests_the_setting() -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"MONITOR_WEBPORT": "9000"})
    assert "MONITOR_WEBPORT" in str(info.value)
    assert "MONITOR_WEB_PORT" in str(info.value)


@pytest.mark.parametrize(
    "url", ["http://:hunter2@cache:6379/0", "ftp://admin:hunter2@cache/0", "hunter2"]
)
def test_bad_redis_url_error_does_not_show_its_password(url: str, tmp_path: Path) -> None:
    message = _raises_naming({"MONITOR_REDIS": url}, "MONITOR_REDIS", None, tmp_path)
    assert "hunter2" not in message


# --- TOML --------------------------------------------------------------------------------------


@pytest.mark.parametrize("section", ["[monitor]\n", ""], ids=["monitor table", "top level"])
def test_toml_values(section: str, tmp_path: Path) -> None:
    toml = section + (
        'kafka = "k1:9092,k2:9092"\n'
        'redis = "redis://:hunter2@cache:6379/3"\n'
        'namespace = "staging."\n'
        "web_port = 9000\n"
        "batch_within_s = 0.5\n"
        "retention_s = 86400\n"
        'log_level = "WARNING"\n'
        'api_token = "s3cr3t-token"\n'
    )
    s = load({}, toml, tmp_path)
    assert (s.kafka, s.namespace, s.web_port, s.batch_within_s, s.retention_s, s.log_level) == (
        "k1:9092,k2:9092",
        "staging.",
        9000,
        0.5,
        86400,
        "warning",
    )
    assert s.redis.reveal() == "redis://:hunter2@cache:6379/3"
    assert s.api_token is not None
    assert s.api_token.reveal() == "s3cr3t-token"


def test_env_overrides_file(tmp_path: Path) -> None:
    toml = '[monitor]\nweb_port = 9000\nnamespace = "file."\nkafka = "file:9092"\n'
    s = load({"MONITOR_WEB_PORT": "9100", "MONITOR_NAMESPACE": "env."}, toml, tmp_path)
    assert (s.web_port, s.namespace, s.kafka) == (9100, "env.", "file:9092")


def test_env_value_is_checked_even_when_the_file_is_fine(tmp_path: Path) -> None:
    _raises_naming({"MONITOR_WEB_PORT": "nope"}, "MONITOR_WEB_PORT", "web_port = 9000\n", tmp_path)


def test_an_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load({}, "", tmp_path) == Settings()


BAD_TOML: list[tuple[str, str]] = [
    ('web_port = "abc"', "web_port"),
    ("web_port = true", "web_port"),
    ("web_port = 0", "web_port"),
    ("web_port = 80.5", "web_port"),
    ('kafka = "nohost"', "kafka"),
    ('redis = "http://x"', "redis"),
    ('namespace = "a b"', "namespace"),
    ("batch_within_s = -1", "batch_within_s"),
    ('log_level = "loud"', "log_level"),
    ("topic_partitions = [4]", "topic_partitions"),
]


@pytest.mark.parametrize(("line", "name"), BAD_TOML, ids=[b[0] for b in BAD_TOML])
def test_bad_toml_value_raises_naming_the_setting(line: str, name: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load({}, f"[monitor]\n{line}\n", tmp_path)
    assert name in str(info.value).lower()


@pytest.mark.parametrize(
    ("toml", "fragment"),
    [
        ("[monitor]\nweb_prot = 9000\n", "web_prot"),
        ("[monitor]\nweb_port = \n", "not valid TOML"),
        ("web_port = 1\nweb_port = 2\n", "not valid TOML"),
    ],
    ids=["unknown key", "syntax error", "duplicate key"],
)
def test_bad_toml_file(toml: str, fragment: str, tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load({}, toml, tmp_path)
    assert "--config" in str(info.value)
    assert fragment in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(config_file=tmp_path / "nope.toml", environ={})
    assert "--config" in str(info.value)
    assert "nope.toml" in str(info.value)


# --- secrets -----------------------------------------------------------------------------------

SECRET_ENV = {
    "MONITOR_REDIS": "redis://admin:hunter2@cache:6380/1?password=hunter2",
    "MONITOR_API_TOKEN": "s3cr3t-token",
    "MONITOR_SLACK_WEBHOOK": "https://hooks.slack.com/services/T000/B000/XXXXhookXXXX",
    "MONITOR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "MONITOR_KAFKA_SASL_USERNAME": "svc",
    "MONITOR_KAFKA_SASL_PASSWORD": "sasl-pass-1",
}


@pytest.mark.parametrize(
    "redis_url",
    [
        "redis://:hunter2@cache:6380/1",
        "redis://admin:hunter2@cache:6380/1",
        "rediss://admin:hunter2@cache/1",
        "redis://cache:6380/1?password=hunter2",
        "unix://:hunter2@/run/redis.sock?db=0",
    ],
)
def test_secrets_never_printed(redis_url: str) -> None:
    s = load_settings(environ={**SECRET_ENV, "MONITOR_REDIS": redis_url})
    view = public_view(s)
    printed = {
        "repr": repr(s),
        "str": str(s),
        "format": f"{s}",
        "public_view": json.dumps(view),
        "public_view repr": repr(view),
        "secret in a list": repr([s.api_token, s.redis]),
    }
    for form, text in printed.items():
        for word in SECRET_WORDS:
            assert word not in text, (form, word)
    # still usable by the code that needs them
    assert s.redis.reveal() == redis_url
    assert s.kafka_sasl_password is not None
    assert s.kafka_sasl_password.reveal() == "sasl-pass-1"


def test_public_view_keeps_the_harmless_parts() -> None:
    view = public_view(load_settings(environ=SECRET_ENV))
    assert view["redis"] == "redis://cache:6380/1"
    assert (view["api_token"], view["slack_webhook"], view["kafka_sasl_password"]) == (
        "***",
        "***",
        "***",
    )
    assert view["kafka_sasl_username"] == "svc"
    assert set(view) == set(public_view(Settings()))
    unset = public_view(Settings())
    assert (unset["api_token"], unset["slack_webhook"]) == (None, None)


# --- namespace ---------------------------------------------------------------------------------


@pytest.mark.parametrize("ns", ["", "staging.", "t1234567890."])
def test_namespace_prefixes_topics_groups_and_redis(ns: str) -> None:
    s = load_settings(environ={"MONITOR_NAMESPACE": ns})
    for spec in CONTRACT_TOPICS:
        assert s.topic(spec.name) == ns + spec.name
    assert s.topic("social.posts") == f"{ns}social.posts"
    assert s.group_id("worker") == f"{ns}monitor-worker"
    assert s.redis_prefix == f"{ns}sm:"
    keys = Keys(s.redis_prefix)
    for key in (
        keys.watermark,
        keys.offsets,
        keys.stats,
        keys.creators,
        keys.deadletter_counts,
        keys.leaderboard("followers", tier="micro"),
        keys.creator_meta("instagram:alice"),
        keys.community("vegan-cooking"),
        keys.brand("acme"),
    ):
        assert key.startswith(f"{ns}sm:")


def test_two_namespaces_share_nothing() -> None:
    a = load_settings(environ={"MONITOR_NAMESPACE": "a."})
    b = load_settings(environ={"MONITOR_NAMESPACE": "b."})
    assert not {a.topic(t.name) for t in CONTRACT_TOPICS} & {
        b.topic(t.name) for t in CONTRACT_TOPICS
    }
    assert a.group_id("worker") != b.group_id("worker")
    assert not a.redis_prefix.startswith(b.redis_prefix)
    assert not b.redis_prefix.startswith(a.redis_prefix)
