"""Kafka client options and callbacks, built from Settings in one place (Redis: store/client.py)."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition

from monitor.settings import Settings


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
