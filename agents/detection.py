"""The detection agent: one worker (the group leader) judges closed steps and sends alerts."""

from __future__ import annotations

from monitor.app import FaustSender, Runtime
from monitor.detector import Detector
from monitor.logs import get_logger
from monitor.topics import EndOffsets

log = get_logger(__name__)


def register(rt: Runtime) -> None:
    detector = Detector(
        redis=rt.redis,
        keys=rt.keys,
        settings=rt.settings,
        tables=rt.tables,
        rules=lambda: rt.rules.rules,
        sender=FaustSender(rt.app),
        end_offsets=EndOffsets(rt.settings),
    )

    async def detect() -> None:
        # Brand spikes need every brand's rule: wait until the rules topic has been read once.
        if not rt.rules.loaded.is_set():
            return
        try:
            await detector.run_once()
        except Exception:
            # Detector state only advances after a committed pass, so the next tick retries.
            log.exception("detection pass failed; retrying on the next tick")

    rt.app.timer(interval=rt.settings.detect_interval_s, on_leader=True)(detect)
