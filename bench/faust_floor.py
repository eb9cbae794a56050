"""The faust baseline: a faust agent that only counts the records.

Run by ``bench.run`` between the bare-consumer ceiling and the worker: it reads the same records
with ``take_events`` batching through a plain faust app (``create_faust_app``) and does nothing
with them. It is what reading the input through a faust agent costs per record, before any of
our work: the worker did that until the fifth round (bench/README.md) and now reads batches
itself, so the worker's figure next to this one is the gain. Child mode (``python -m
bench.faust_floor TOTAL``, settings from ``MONITOR_*``) prints one JSON line with its measurement
once it has seen TOTAL records.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from bench.measure import cpu_s
from bench.window import Mark, measurement_window
from monitor.kafka.topics import INPUT_TOPICS
from monitor.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def _child(total: int) -> None:
    from faust import Worker

    from monitor.app import create_faust_app

    settings = load_settings()
    app = create_faust_app(settings, role="floor")
    channel = app.topic(
        *(settings.topic(t) for t in INPUT_TOPICS), key_type=bytes, value_type=bytes
    )
    me = psutil.Process()

    def mark(done: int) -> Mark:
        return Mark(time.perf_counter(), cpu_s(me), done)

    async def count(stream: Any) -> None:
        start, first, seen = mark(0), None, 0
        async for events in stream.take_events(settings.batch_max, within=settings.batch_within_s):
            seen += len(events)
            if first is None:
                first = mark(seen)
            if seen >= total:
                window = measurement_window(start, first, mark(seen))
                print(
                    json.dumps(
                        {
                            "events": seen,
                            "seconds": round(window.seconds, 3),
                            "events_per_s": round(window.per_second),
                            "cpu_s_per_million": round(window.cpu_s_per_record * 1e6, 2),
                            "window_from_start": window.from_start,
                        }
                    ),
                    flush=True,
                )
                os._exit(0)

    app.agent(channel, name="floor", concurrency=1)(count)
    Worker(
        app, loglevel="WARNING", override_logging=False, redirect_stdouts=False
    ).execute_from_commandline()


async def measure(
    env: dict[str, str], total: int, log: Path, timeout_s: float = 900
) -> dict[str, Any]:
    """One counting faust worker over ``total`` records; its own measurement."""
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.faust_floor", str(total),
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err,
        )  # fmt: skip
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
        finally:
            if proc.returncode is None:
                proc.kill()
    lines = [line for line in out.decode().splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"the faust floor run printed no result; see {log}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


if __name__ == "__main__":
    _child(int(sys.argv[1]))
