"""Clients for the external systems, built from Settings in one place."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis
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
