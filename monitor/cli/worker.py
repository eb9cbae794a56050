"""``monitor worker``: run the stream agents in one faust worker process."""

from __future__ import annotations

import argparse
import asyncio
from typing import NoReturn

from monitor.kafka.topics import create_topics
from monitor.logs import get_logger
from monitor.settings import Settings, public_view

log = get_logger(__name__)


def _cmd_worker(settings: Settings, _: argparse.Namespace) -> NoReturn:
    # Lazy for start-up time: faust and the agents take a few hundred ms to import and only
    # this verb needs them; every other `monitor ...` command would pay for them.
    from faust import Worker

    from agents import detection, housekeeping, ingest
    from monitor.app import build_runtime

    asyncio.run(create_topics(settings))
    rt = build_runtime(settings)
    ingest.register(rt)
    housekeeping.register(rt)
    detection.register(rt)
    log.info("worker starting", settings=public_view(settings))
    worker = Worker(
        rt.app,
        loglevel=settings.log_level.upper(),
        override_logging=False,
        redirect_stdouts=False,
    )
    worker.execute_from_commandline()  # runs until stopped, then exits the process


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("worker", help="run the stream agents").set_defaults(run=_cmd_worker)
