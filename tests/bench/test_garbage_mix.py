"""The garbage benchmark's inputs and its cost model (bench/garbage_mix.py)."""

from __future__ import annotations

from typing import Any

import pytest

from bench.garbage_mix import GARBAGE, expected_ratio, record_costs, streams
from monitor.brands.matching import BrandMatcher
from monitor.ingest.plan import RawRecord, plan_batch
from monitor.sim.traffic import Traffic, generate


def _events() -> list[tuple[str, dict[str, Any]]]:
    return list(generate(Traffic(seed=3, creators=20, hours=2, comments_per_hour=200)))


def test_the_mixed_input_is_the_clean_one_with_one_garbage_record_after_every_nine() -> None:
    events = _events()
    inputs = streams(events)
    clean, mixed, garbage = inputs["clean"], inputs["mixed"], inputs["garbage"]
    assert len(clean) == len(garbage) == len(events)
    assert [r for r in mixed if r[2] not in GARBAGE] == clean
    bad_at = [i for i, r in enumerate(mixed) if r[2] in GARBAGE]
    assert len(bad_at) == len(events) // 9
    assert bad_at[:3] == [9, 19, 29]
    # garbage alone: the good events' topics and keys, none of their values
    assert [(t, k) for t, k, _ in garbage] == [(t, k) for t, k, _ in clean]
    assert all(v in GARBAGE for _, _, v in garbage)


def test_every_garbage_record_is_a_dead_letter() -> None:
    records = [
        RawRecord(topic=f"social.{kind}", kind=kind, partition=0, offset=n, key=b"ig:a", value=v)
        for n, v in enumerate(GARBAGE)
        for kind in ("post", "comment", "audience")
    ]
    plan = plan_batch(
        records,
        watermark_ms=0,
        wall_ms=1_795_168_800_000,
        future_tolerance_ms=3_600_000,
        matcher=BrandMatcher({}),
        sentiment=lambda _: 0,
    )
    assert len(plan.dead_letters) == len(records)


def test_a_bad_record_as_dear_as_a_good_one_at_one_in_ten_costs_a_tenth() -> None:
    assert expected_ratio(1 / 9, 1.0) == pytest.approx(0.9)
    assert expected_ratio(1 / 9, 0.0) == 1.0
    assert expected_ratio(1 / 9, 0.5) == pytest.approx(18 / 19)


def _run(rate: float, cpu_us: float) -> dict[str, Any]:
    return {"records_per_s": rate, "worker_cpu_us_per_record": cpu_us}


def test_record_costs_compare_medians_of_each_kind() -> None:
    runs = [
        {"first": "clean", "good": _run(30_000, 16.0), "garbage": _run(60_000, 11.0)},
        {"first": "garbage", "good": _run(28_000, 15.0), "garbage": _run(66_000, 12.0)},
        {"first": "clean", "good": _run(29_000, 18.0), "garbage": _run(58_000, 10.0)},
    ]
    costs = record_costs(runs, 1 / 9)
    assert costs["records_per_s"] == {"good": 29_000, "garbage": 60_000}
    assert costs["worker_cpu_us_per_record"] == {"good": 16.0, "garbage": 11.0}
    assert costs["bad_over_good"] == {"wall": round(29 / 60, 3), "cpu": round(11 / 16, 3)}
    assert costs["expected_ratio"]["wall"] == round(1 / (1 + (29 / 60) / 9), 3)
    assert costs["expected_ratio"]["cpu"] == round(1 / (1 + (11 / 16) / 9), 3)
