"""Security on the real services: Redis ACL auth, and secrets that never leave in any output."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.clients import make_redis
from monitor.settings import load_settings, public_view
from monitor.topics import INPUT_TOPICS, create_topics
from tests.dataset import build
from tests.helpers import event_records, produce, wait_caught_up, wait_for
from tests.support import OwnRedis

pytestmark = pytest.mark.integration

PASSWORD = "s3cret-Pa55-for-acl-test"


async def test_worker_with_redis_acl_user_and_password(settings_env, spawn, tmp_path: Path) -> None:
    own = OwnRedis(tmp_path, extra=["--user", "default", "off", "--user", "monitor", "on",
                                    f">{PASSWORD}", "~*", "&*", "+@all"])
    own.start()
    url = f"redis://monitor:{PASSWORD}@127.0.0.1:{own.port}/0"
    settings = load_settings(environ={**settings_env, "MONITOR_REDIS": url})
    redis = make_redis(settings)
    try:
        await create_topics(settings)
        await produce(settings, event_records(build().valid_events()))
        worker = spawn("worker", extra_env={"MONITOR_REDIS": url})
        await wait_caught_up(redis, settings, INPUT_TOPICS)
        assert await redis.hget(f"{settings.redis_prefix}c:{{instagram:alice}}:meta", "followers") == "12000"
        # a wrong password: the worker keeps retrying, and says so without the password
        wrong = url.replace(PASSWORD, "not-the-" + PASSWORD)
        bad = spawn("worker", extra_env={"MONITOR_REDIS": wrong, "MONITOR_NAMESPACE": "acl-bad."}, name="bad")

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
