"""The detection agent: one worker (the group leader) judges closed steps and sends alerts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from monitor.app import Runtime
from monitor.detect.runner import Detector
from monitor.kafka.topics import EndOffsets
from monitor.logs import get_logger

log = get_logger(__name__)


def register(rt: Runtime) -> None:
    if rt.settings.detect_parked:
        log.info("detection parked: this worker only ingests")
        return
    detector = Detector(
        redis=rt.redis,
        keys=rt.keys,
        settings=rt.settings,
        tables=rt.tables,
        rules=lambda: rt.rules.rules,
        sender=rt.sender,
        end_offsets=EndOffsets(rt.settings),
        metrics=rt.metrics,
    )

    def every_tick(run: Callable[[], Awaitable[int]], name: str, interval_s: float) -> None:
        async def tick() -> None:
            # Brand detectors need every brand's rule: wait until the rules topic was read once.
            if not rt.rules.loaded.is_set():
                return
            try:
                await run()
            except Exception:
                # Detector state only advances after a committed pass, so the next tick retries.
                log.exception("detection pass failed; retrying on the next tick", judged=name)

        tick.__name__ = tick.__qualname__ = f"detect_{name}"  # faust names timers after them
        rt.app.timer(interval=interval_s, on_leader=True)(tick)

    # Two timers: mention spikes are judged every minute and must not queue behind the
    # five-minute creator steps, which take longer.
    every_tick(detector.run_brands, "brands", rt.settings.detect_interval_s)
    every_tick(detector.run_creators, "creators", rt.settings.detect_steps_interval_s)
