"""Security on the real services: Redis ACL auth, and secrets that never leave in any output."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.cli.feed import _wait_detected
from monitor.kafka.topics import INPUT_TOPICS, create_topics
from monitor.settings import load_settings, public_view
from monitor.sim.produce import produce_events
from monitor.sim.scenario import standard
from monitor.store.client import make_redis
from tests.dataset import build
from tests.helpers import event_records, produce, wait_caught_up, wait_for
from tests.integration.test_notifier import FakeSlack, slack  # noqa: F401  # slack is a fixture
from tests.support import OwnRedis, free_port

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55-for-acl-test"
ACL = ["--user", "default", "off", "--user", "monitor", "on", f">{PASSWORD}", "~*", "&*", "+@all"]


def acl_redis(tmp_path: Path) -> tuple[OwnRedis, str]:
    """A redis-server of the test's own where only user ``monitor`` with PASSWORD gets in."""
    own = OwnRedis(tmp_path, extra=ACL)
    own.start()
    return own, f"redis://monitor:{PASSWORD}@127.0.0.1:{own.port}/0"


async def test_worker_with_redis_acl_user_and_password(settings_env, spawn, tmp_path: Path) -> None:
    own, url = acl_redis(tmp_path)
    settings = load_settings(environ={**settings_env, "MONITOR_REDIS": url})
    redis = make_redis(settings)
    try:
        await create_topics(settings)
        await produce(settings, event_records(build().valid_events()))
        worker = spawn("worker", extra_env={"MONITOR_REDIS": url})
        await wait_caught_up(redis, settings, INPUT_TOPICS)
        assert (
            await redis.hget(f"{settings.redis_prefix}c:{{instagram:alice}}:meta", "followers")
            == "12000"
        )
        # a wrong password: the worker keeps retrying, and says so without the password
        wrong = url.replace(PASSWORD, "not-the-" + PASSWORD)
        bad = spawn(
            "worker",
            extra_env={"MONITOR_REDIS": wrong, "MONITOR_NAMESPACE": "acl-bad."},
            name="bad",
        )

        async def complained() -> bool:
            return "redis unavailable" in bad.output()

        await wait_for(complained, timeout=60, what="the auth failure to be logged")
        bad.stop()
        worker.stop()
        for output in (worker.output(), bad.output()):
            assert PASSWORD not in output
        assert PASSWORD not in str(public_view(settings))
        assert PASSWORD not in repr(settings)
    finally:
        await redis.aclose()
        own.stop()


async def test_no_secret_in_any_output_of_a_full_run(
    settings_env,
    spawn,
    tmp_path: Path,
    slack: FakeSlack,  # noqa: F811  # the fixture
) -> None:
    """Worker, notifier and web with every kind of secret set; scan logs, API and /metrics."""
    token = "api-T0ken-that-must-stay-secret"
    sasl = "sasl-Passw0rd-never-logged"
    hook_secret = "/services/T0SECRET/B0SECRET/hookSecretPathXYZ"
    own, url = acl_redis(tmp_path)
    env = {
        "MONITOR_REDIS": url,
        "MONITOR_KAFKA_SASL_PASSWORD": sasl,
        "MONITOR_KAFKA_SASL_USERNAME": "svc",
        "MONITOR_API_TOKEN": token,
        "MONITOR_SLACK_WEBHOOK": f"http://127.0.0.1:{slack.port}{hook_secret}",
        "MONITOR_PARTITION_IDLE_S": "2",
        "MONITOR_LOG_LEVEL": "debug",
    }
    settings = load_settings(environ={**settings_env, **env})
    sc = standard(hours=30, creators=150)
    port = free_port()
    try:
        await create_topics(settings)
        await apply_rules(settings, parse_rules_toml(sc.rules_toml))
        await produce_events(settings, sc.events)
        procs = [
            spawn("worker", extra_env=env),
            spawn("notify", "--group-wait", "0.5", extra_env=env),
            spawn("web", "--port", str(port), extra_env=env),
        ]
        await _wait_detected(settings, 240)
        await wait_for(
            lambda: _true(len(slack.delivered_ids()) > 0), timeout=60, what="a Slack post"
        )
        bodies: list[str] = []
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            auth = {"Authorization": f"Bearer {token}"}
            for path in (
                "/api/creators",
                "/api/creators/instagram:creator00001",
                "/api/brands",
                "/api/brands/acme",
                "/api/alerts",
                "/api/openapi.json",
                "/metrics",
                "/healthz",
                "/",
                "/api/creators?sort=nope",
                "/api/brands/nope",
            ):
                async with http.get(path, headers=auth) as resp:
                    bodies.append(f"{resp.status} {dict(resp.headers)} {await resp.text()}")
            async with http.get("/api/alerts", headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
                bodies.append(await resp.text())
        for proc in procs:
            proc.stop()
        outputs = [p.output() for p in procs]
        assert any("alert" in o for o in outputs)
        for secret in (token, sasl, PASSWORD, hook_secret, hook_secret.rsplit("/", 1)[1]):
            for text in outputs + bodies:
                assert secret not in text
    finally:
        own.stop()


async def _true(value: bool) -> bool:
    return value
