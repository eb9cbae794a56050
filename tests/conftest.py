from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import structlog

from monitor.settings import Settings, load_settings
from monitor.store.client import make_redis
from tests.helpers import Proc, env_for

KAFKA = "127.0.0.1:9092"
REDIS = "redis://127.0.0.1:6379/0"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _reset_logging_context() -> Iterator[None]:
    structlog.contextvars.clear_contextvars()
    yield
    structlog.contextvars.clear_contextvars()


@pytest.fixture(scope="session")
def services() -> None:
    """Kafka and Redis from scripts/services; a missing service fails the test, never skips it."""
    for name, (host, port) in {"kafka": ("127.0.0.1", 9092), "redis": ("127.0.0.1", 6379)}.items():
        if not _reachable(host, port):
            pytest.fail(f"{name} is not running on {host}:{port}: run `make services`")


@pytest.fixture
def namespace() -> str:
    return f"t{uuid.uuid4().hex[:10]}."


def settings_env_for(namespace: str) -> dict[str, str]:
    """The settings every test process gets: its own namespace, fast batches and group joins."""
    return {
        "MONITOR_NAMESPACE": namespace,
        "MONITOR_KAFKA": KAFKA,
        "MONITOR_REDIS": REDIS,
        "MONITOR_BATCH_WITHIN_S": "0.1",
        "MONITOR_LEADERBOARD_REFRESH_S": "0.5",
        "MONITOR_BROKER_SESSION_TIMEOUT_S": "6",
        "MONITOR_BROKER_REBALANCE_TIMEOUT_S": "10",
    }


@pytest.fixture
def settings_env(namespace: str) -> dict[str, str]:
    return settings_env_for(namespace)


@pytest.fixture
def settings(services: None, settings_env: dict[str, str]) -> Settings:
    return load_settings(environ=settings_env)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[aioredis.Redis]:
    client = make_redis(settings)
    yield client
    # Leave no trace of this test's namespace behind.
    async for key in client.scan_iter(match=f"{settings.namespace}*", count=1000):
        await client.delete(key)
    await client.aclose()


@pytest.fixture
def spawn(settings_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Proc]]:
    """Start ``monitor <args>`` subprocesses with this test's settings; all stopped at the end."""
    procs: list[Proc] = []

    def start(*args: str, extra_env: dict[str, str] | None = None, name: str = "") -> Proc:
        env = env_for({**settings_env, **(extra_env or {})})
        log = tmp_path / f"{name or args[0]}-{len(procs)}.log"
        proc = Proc(list(args), env, log)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()
