"""The benchmark runs end to end at a tiny size against the real Kafka and Redis.

Checks only that every figure comes out well formed (numbers where numbers belong, the command
line and the machine recorded); no timing is asserted: CI machines vary too much.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bench.micro import DIFFERENCES

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


@pytest.mark.timeout(120)
def test_smoke_run_produces_well_formed_results(services: None, tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--redis", "redis://127.0.0.1:6379/0",
         "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    took = time.monotonic() - started
    result = json.loads(out.read_text())

    assert "bench.run" in result["command"]
    assert "--smoke" in result["command"]
    assert result["machine"]["logical_cpus"] >= 1
    assert result["workload"]["events"] == sum(result["workload"]["by_topic"].values())
    for section in ("ceiling", "faust_floor", "worker"):
        assert result[section]["events"] == result["workload"]["events"]
        assert _number(result[section]["events_per_s"])
        assert result[section]["events_per_s"] > 0
        assert _number(result[section]["cpu_s_per_million"])
    worker = result["worker"]
    for key in (
        "redis_commands_per_event",
        "redis_round_trips_per_event",
        "peak_rss_mb",
        "seconds",
    ):
        assert _number(worker[key]), key
    assert worker["applied"] == result["workload"]["events"]
    assert 0 < result["ratio"] < 10
    latency = result["latency"]
    assert _number(latency["rate_events_per_s"])
    assert latency["paced_events"] > 0
    for key in ("p50_ms", "p99_ms", "max_ms"):
        assert latency[key] is None or isinstance(latency[key], int | float), key
    for name, value in result["micro"].items():
        # A difference of two timings can be negative on a 3,000-event run; it must be a number.
        ok = _finite(value) if name in DIFFERENCES else _number(value)
        assert ok, (name, value)
    print(f"smoke benchmark took {took:.1f} s")
