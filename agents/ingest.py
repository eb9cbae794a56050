"""The ingest agent: every input topic, in batches, through the pipeline. Thin on purpose."""

from __future__ import annotations

from typing import Any

from monitor.app import Runtime
from monitor.ingest import RawRecord
from monitor.logs import get_logger
from monitor.topics import INPUT_TOPICS
from schemas.events import TOPIC_KIND

log = get_logger(__name__)


def register(rt: Runtime) -> None:
    settings = rt.settings
    kinds = {settings.topic(name): TOPIC_KIND[name] for name in INPUT_TOPICS}
    channel = rt.app.topic(*kinds, key_type=bytes, value_type=bytes)

    async def ingest(stream: Any) -> None:
        # Mentions are matched on arrival: hold the first batch until the rules topic was read.
        await rt.rules.loaded.wait()
        # concurrency=1: faust can commit past a slow message with more (faust #606).
        async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
            records = [
                RawRecord(
                    topic=e.message.topic,
                    kind=kinds[e.message.topic],
                    partition=e.message.partition,
                    offset=e.message.offset,
                    key=e.message.key,
                    value=e.message.value,
                )
                for e in events
            ]
            await rt.pipeline.process(records)

    rt.app.agent(channel, name="ingest", concurrency=1)(ingest)

    async def start_pipeline() -> None:
        await rt.pipeline.start()

    rt.app.task(start_pipeline)
