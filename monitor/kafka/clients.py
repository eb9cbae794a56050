"""Clients for the external systems, built from Settings in one place."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from aiokafka import ConsumerRebalanceListener, TopicPartition
from redis.typing import EncodableT, FieldT

from monitor.settings import Settings

# What redis-py's hset(mapping=...) accepts; our dicts of str/bytes are passed through this.
RedisMapping = Mapping[FieldT, EncodableT]


def make_redis(settings: Settings) -> aioredis.Redis:
    """An async Redis client; every call has a timeout so a stuck server cannot hang a rebalance."""
    client: aioredis.Redis = aioredis.Redis.from_url(
        settings.redis.reveal(),
        decode_responses=True,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
        health_check_interval=30,
    )
    return client


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """aiokafka keyword options shared by our producers, consumers and admin clients."""
    opts: dict[str, Any] = {
        "bootstrap_servers": settings.kafka,
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in {"SSL", "SASL_SSL"}:
        opts["ssl_context"] = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
    if settings.kafka_security_protocol.startswith("SASL"):
        opts["sasl_mechanism"] = settings.kafka_sasl_mechanism
        opts["sasl_plain_username"] = settings.kafka_sasl_username
        opts["sasl_plain_password"] = (
            settings.kafka_sasl_password.reveal() if settings.kafka_sasl_password else None
        )
    return opts


def group_consumer_options(settings: Settings, role: str) -> dict[str, Any]:
    """aiokafka options for a consumer group member that commits only what it has finished."""
    return {
        **kafka_client_options(settings),
        "group_id": settings.group_id(role),
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",  # a new group must not skip records already there
        "session_timeout_ms": int(settings.broker_session_timeout_s * 1000),
        "heartbeat_interval_ms": int(max(1.0, settings.broker_session_timeout_s / 4) * 1000),
        "rebalance_timeout_ms": int(settings.broker_rebalance_timeout_s * 1000),
    }


OnPartitions = Callable[[list[TopicPartition]], Awaitable[None]]


class RebalanceCallbacks(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka ships no types
    """aiokafka's rebalance listener as two callbacks; revoke runs before the partitions go."""

    def __init__(self, *, revoked: OnPartitions, assigned: OnPartitions) -> None:
        self._revoked = revoked
        self._assigned = assigned

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        await self._assigned(assigned)
