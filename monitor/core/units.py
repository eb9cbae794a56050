"""Time units in milliseconds, the unit of every event time and window in the monitor (pure).

Pure code (windows, metrics, detectors, the simulator) needs these without importing the Redis key
module, so they live here and :mod:`monitor.store.keys` imports them too.
"""

from __future__ import annotations

from typing import Final

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 60 * MINUTE_MS
DAY_MS: Final = 24 * HOUR_MS

__all__ = ["DAY_MS", "HOUR_MS", "MINUTE_MS"]
