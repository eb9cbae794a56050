"""The composition root: builds the faust app, Redis client, stores and pipeline from Settings."""

from __future__ import annotations

import gc
from dataclasses import dataclass

import faust
import redis.asyncio as aioredis

from monitor.brands.feed import LiveRules
from monitor.core.sentiment import compound_scaled
from monitor.ingest.pipeline import IngestPipeline
from monitor.kafka.sender import BatchSender
from monitor.ops.metrics import Metrics
from monitor.settings import Settings
from monitor.store.apply import TableStore
from monitor.store.client import make_redis
from monitor.store.creators import Tables
from monitor.store.keys import Keys


def create_faust_app(settings: Settings, role: str) -> faust.App:
    """A faust App configured from Settings: raw bytes in (we decode with orjson), memory store.

    ``role`` names its consumer group. The worker's app consumes no input: it runs the timers
    and elects the leader that runs the group's share (ingest is monitor/ingest/reader.py).
    """
    brokers = [f"kafka://{hp.strip()}" for hp in settings.kafka.split(",")]
    app = faust.App(
        settings.group_id(role),
        broker=brokers,
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.broker_session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.broker_session_timeout_s / 4),
        broker_rebalance_timeout=settings.broker_rebalance_timeout_s,
        broker_commit_interval=1.0,
        producer_acks=-1,
        table_cleanup_interval=3600.0,
    )
    app.task(freeze_startup_objects)
    return app


async def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, faust's services, clients) out of the GC's scans.

    It lives as long as the process, yet every full collection walked it: 13 % of a busy
    worker's CPU went to the GC, and freezing cut CPU per event by 13 % (bench/README.md).
    Runs as an app task, so after the app and its agents are built.
    """
    gc.freeze()


@dataclass(slots=True)
class Runtime:
    settings: Settings
    keys: Keys
    redis: aioredis.Redis
    tables: Tables
    store: TableStore
    rules: LiveRules
    app: faust.App
    pipeline: IngestPipeline
    sender: BatchSender
    metrics: Metrics


def build_runtime(settings: Settings) -> Runtime:
    keys = Keys(settings.redis_prefix)
    redis = make_redis(settings)
    tables = Tables(redis, keys, settings)
    store = TableStore(redis, keys, settings)
    rules = LiveRules()
    # faust elects the leader that runs the timers; ingest is its own group ("worker").
    app = create_faust_app(settings, role="leader")
    # The worker's one producer: dead letters and re-keys (they come in floods, so in batches)
    # and alerts. Stopped by the ingest task once its last batch is done.
    sender = BatchSender(settings)
    metrics = Metrics()
    pipeline = IngestPipeline(
        settings=settings,
        store=store,
        sender=sender,
        matcher=lambda: rules.matcher,
        sentiment=compound_scaled,
        metrics=metrics,
    )
    return Runtime(settings, keys, redis, tables, store, rules, app, pipeline, sender, metrics)
