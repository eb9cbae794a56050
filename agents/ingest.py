"""Ingest: every input topic, a fetched batch at a time, through the pipeline. Thin on purpose.

The worker's faust app runs it as a task; the batches come from aiokafka directly
(monitor/ingest/reader.py says why).
"""

from __future__ import annotations

from typing import Any, cast

from aiokafka import AIOKafkaConsumer

from monitor.app import Runtime
from monitor.ingest.reader import IngestReader
from monitor.kafka.clients import group_consumer_options
from monitor.kafka.topics import INPUT_TOPICS
from monitor.ops.endpoint import OpsEndpoint
from schemas.events import TOPIC_KIND


def register(rt: Runtime) -> None:
    settings = rt.settings
    reader = IngestReader(
        lambda: AIOKafkaConsumer(**group_consumer_options(settings, "worker")),
        kinds={settings.topic(name): TOPIC_KIND[name] for name in INPUT_TOPICS},
        process=rt.pipeline.process,
        batch_max=settings.batch_max,
        within_s=settings.batch_within_s,
    )
    ops = OpsEndpoint(
        settings, role="worker", metrics=rt.metrics, owned=lambda: reader.assigned, redis=rt.redis
    )

    async def ingest() -> None:
        await ops.start()  # /metrics and /healthz (MONITOR_METRICS_PORT), before the input
        await rt.pipeline.start()
        # Mentions are matched on arrival: hold the first batch until the rules topic was read.
        await rt.rules.loaded.wait()
        await reader.run()

    async def stop(*_: Any, **__: Any) -> None:
        await reader.stop()
        # only now: the batch in hand may have needed it (a detection pass still sending alerts
        # then fails, leaving them in its outbox for the next leader)
        await rt.sender.stop()
        await ops.stop()

    rt.app.task(ingest)
    rt.app.on_before_shutdown.connect(cast(Any, stop))  # mode's handler type is too narrow
