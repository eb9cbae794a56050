"""Read API of the brand tables the worker keeps: mention buckets, mentioning creators, evidence.

Windows end at the watermark (the newest event time seen), like the creator tables. A brand's
"current window" is the ``window_min`` minutes up to and including the watermark's minute, the
window its spike detector judges; the timeline is a row of such windows, the last one ending at the
watermark, so its last bar is the current window and compares directly with the baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import redis.asyncio as aioredis

from monitor.brands.rules import MASK
from monitor.core.metrics import mentions_by_brand
from monitor.core.units import DAY_MS, MINUTE_MS
from monitor.core.windows import hour_window
from monitor.logs import get_logger
from monitor.store.creators import Tables
from monitor.store.keys import EVIDENCE_KEEP, Keys
from schemas.codec import JSONDecodeError, loads

log = get_logger(__name__)

DEFAULT_WINDOW_MIN: Final = 15
TIMELINE_MIN: Final = 24 * 60
TOP_CREATORS: Final = 10
# Brands listed at most (the rules hash and the brands zset are both bounded by configuration).
MAX_BRANDS: Final = 1_000
# Exact 24 h counts are computed for candidates in chunks, most likely first, and stop as soon as
# no remaining candidate can enter the top list; the cap bounds the work for a pathological brand.
_CANDIDATE_CHUNK: Final = 25
_MAX_EXACT_CANDIDATES: Final = 200
# The usual range drawn around the baseline: mentions are counts, so roughly Poisson(baseline).
_BAND_SIGMAS: Final = 2.0


@dataclass(frozen=True, slots=True)
class _Detector:
    baseline: float | None
    window_min: int
    updated_ms: int | None


def _int(raw: Any) -> int | None:
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _float(raw: Any) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _detector(raw: Mapping[str, str]) -> _Detector:
    window = _int(raw.get("window_min"))
    return _Detector(
        baseline=_float(raw.get("baseline")),
        window_min=(
            window if window is not None and 1 <= window <= TIMELINE_MIN else DEFAULT_WINDOW_MIN
        ),
        updated_ms=_int(raw.get("updated_ms")),
    )


def _public_rule(raw: str | None) -> dict[str, Any] | None:
    """The rule as served: whatever the worker wrote, with any webhook masked again."""
    if raw is None:
        return None
    try:
        rule = loads(raw)
    except JSONDecodeError:
        return None
    if not isinstance(rule, dict):
        return None
    if rule.get("slack_webhook") is not None:
        rule["slack_webhook"] = MASK
    return rule


def band(baseline: float | None) -> dict[str, float] | None:
    """The usual range of a window's count around its baseline (Poisson, about 95 %)."""
    if baseline is None:
        return None
    spread = _BAND_SIGMAS * math.sqrt(max(baseline, 0.0))
    return {"low": round(max(0.0, baseline - spread), 3), "high": round(baseline + spread, 3)}


def _minute_counts(days: Sequence[Mapping[str, str]]) -> tuple[dict[int, int], dict[int, int]]:
    mentions: dict[int, int] = {}
    negative: dict[int, int] = {}
    for day in days:
        for name, raw in day.items():
            n = _int(raw)
            if n is None:
                continue
            if name.startswith("neg:"):
                minute = _int(name[4:])
                if minute is not None:
                    negative[minute] = negative.get(minute, 0) + n
            else:
                minute = _int(name)
                if minute is not None:
                    mentions[minute] = mentions.get(minute, 0) + n
    return mentions, negative


def _timeline(
    days: Sequence[Mapping[str, str]], first: int, n_buckets: int, window_min: int
) -> list[dict[str, int]]:
    """``n_buckets`` windows of ``window_min`` minutes from minute ``first`` on (pure)."""
    mentions, negative = _minute_counts(days)
    timeline = []
    for k in range(n_buckets):
        start = first + k * window_min
        span = range(start, start + window_min)
        timeline.append(
            {
                "t_ms": start * MINUTE_MS,
                "end_ms": (start + window_min) * MINUTE_MS - 1,
                "mentions": sum(mentions.get(m, 0) for m in span),
                "negative": sum(negative.get(m, 0) for m in span),
            }
        )
    return timeline


def _day_range(first_minute: int, last_minute: int) -> range:
    return range(first_minute * MINUTE_MS // DAY_MS, last_minute * MINUTE_MS // DAY_MS + 1)


class BrandTables:
    def __init__(self, redis: aioredis.Redis, keys: Keys, tables: Tables) -> None:
        self._redis = redis
        self._keys = keys
        self._tables = tables

    async def known(self, brand: str) -> bool:
        """A brand with a rule or with mentions; exact lookups only, never a pattern."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.hexists(self._keys.rules, brand)
        pipe.zscore(self._keys.brands, brand)
        has_rule, newest = await pipe.execute()
        return bool(has_rule) or newest is not None

    async def brands(self) -> list[dict[str, Any]]:
        """Every brand with its mentions in the current window and its baseline, busiest first."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._keys.watermark)
        pipe.hgetall(self._keys.rules)
        pipe.zrevrange(self._keys.brands, 0, MAX_BRANDS - 1, withscores=True)
        wm_raw, rules, newest = await pipe.execute()
        now = _int(wm_raw) or 0
        last_mention = {str(b): int(t) for b, t in newest}
        ids = sorted(set(list(rules)[:MAX_BRANDS]) | set(last_mention))
        if not ids:
            return []
        pipe = self._redis.pipeline(transaction=False)
        for b in ids:
            pipe.hgetall(self._keys.brand_state(b))
        detectors = [_detector(raw) for raw in await pipe.execute()]
        now_minute = now // MINUTE_MS
        pipe = self._redis.pipeline(transaction=False)
        shapes = []
        for b, det in zip(ids, detectors, strict=True):
            minutes = range(now_minute - det.window_min + 1, now_minute + 1)
            days = _day_range(minutes.start, now_minute)
            for d in days:
                fields = [str(m) for m in minutes] + [f"neg:{m}" for m in minutes]
                pipe.hmget(self._keys.brand_minutes(b, d), fields)
            shapes.append((len(days), len(minutes)))
        replies = await pipe.execute()
        out: list[dict[str, Any]] = []
        pos = 0
        for b, det, (n_days, n_min) in zip(ids, detectors, shapes, strict=True):
            mentions = negative = 0
            for values in replies[pos : pos + n_days]:
                mentions += sum(_int(v) or 0 for v in values[:n_min])
                negative += sum(_int(v) or 0 for v in values[n_min:])
            pos += n_days
            rule = _public_rule(rules.get(b))
            out.append(
                {
                    "brand": b,
                    "name": (rule or {}).get("name") or b,
                    "configured": rule is not None,
                    "window_min": det.window_min,
                    "mentions": mentions,
                    "negative": negative,
                    "baseline": det.baseline,
                    "band": band(det.baseline),
                    "ratio": (round(mentions / det.baseline, 2) if det.baseline else None),
                    "last_mention_ms": last_mention.get(b),
                    "as_of_ms": now,
                }
            )
        out.sort(key=lambda d: (-d["mentions"], d["brand"]))
        return out

    async def brand(self, brand: str) -> dict[str, Any] | None:
        """Mention timeline with the baseline band, top creators (24 h) and the newest evidence."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.get(self._keys.watermark)
        pipe.hget(self._keys.rules, brand)
        pipe.zscore(self._keys.brands, brand)
        pipe.hgetall(self._keys.brand_state(brand))
        pipe.zrevrange(self._keys.brand_evidence(brand), 0, EVIDENCE_KEEP - 1)
        wm_raw, rule_raw, newest, state, evidence_raw = await pipe.execute()
        if rule_raw is None and newest is None:
            return None
        now = _int(wm_raw) or 0
        det = _detector(state)
        w = det.window_min
        now_minute = now // MINUTE_MS
        n_buckets = -(-TIMELINE_MIN // w)
        first = now_minute - n_buckets * w + 1
        days = _day_range(first, now_minute)
        today = now // DAY_MS
        pipe = self._redis.pipeline(transaction=False)
        for d in days:
            pipe.hgetall(self._keys.brand_minutes(brand, d))
        pipe.hgetall(self._keys.brand_creators(brand, today))
        pipe.hgetall(self._keys.brand_creators(brand, today - 1))
        replies = await pipe.execute()
        timeline = _timeline(replies[: len(days)], first, n_buckets, w)
        rule = _public_rule(rule_raw)
        current = timeline[-1]
        return {
            "brand": brand,
            "name": (rule or {}).get("name") or brand,
            "configured": rule is not None,
            "rule": rule,
            "as_of_ms": now,
            "window_min": w,
            "mentions": current["mentions"],
            "negative": current["negative"],
            "mentions_24h": sum(b["mentions"] for b in timeline),
            "baseline": det.baseline,
            "band": band(det.baseline),
            "baseline_updated_ms": det.updated_ms,
            "last_mention_ms": None if newest is None else int(newest),
            "timeline": timeline,
            "top_creators": await self._top_creators(brand, now, replies[-2], replies[-1]),
            "evidence": _evidence(evidence_raw),
        }

    async def _top_creators(
        self, brand: str, now: int, today: Mapping[str, str], yesterday: Mapping[str, str]
    ) -> list[dict[str, Any]]:
        """Creators by mentions of the brand in the last 24 h (hour-snapped, as ``mentions_24h``).

        Day hashes bound each creator's count: today's count is inside the window, today's plus
        yesterday's is an upper bound. Exact counts come from the creators' own hour buckets, read
        in order of that bound until no remaining candidate can make the list.
        """
        upper: dict[str, int] = {}
        for part in (today, yesterday):
            for cid, raw in part.items():
                upper[cid] = upper.get(cid, 0) + (_int(raw) or 0)
        candidates = sorted(upper, key=lambda c: (-upper[c], c))[:_MAX_EXACT_CANDIDATES]
        hours = hour_window(now, 24)
        exact: dict[str, int] = {}
        for i in range(0, len(candidates), _CANDIDATE_CHUNK):
            chunk = candidates[i : i + _CANDIDATE_CHUNK]
            for state in await self._tables.creator_states(chunk, now, summed=True):
                exact[state.creator_id] = mentions_by_brand(state.hours, hours).get(brand, 0)
            ranked = sorted((n for n in exact.values() if n), reverse=True)
            rest = candidates[i + _CANDIDATE_CHUNK :]
            if not rest or (
                len(ranked) >= TOP_CREATORS and ranked[TOP_CREATORS - 1] >= upper[rest[0]]
            ):
                break
        top = sorted(((c, n) for c, n in exact.items() if n), key=lambda cn: (-cn[1], cn[0]))
        return [{"creator_id": c, "mentions": n} for c, n in top[:TOP_CREATORS]]


def _evidence(raw: Sequence[str]) -> list[dict[str, Any]]:
    out = []
    for item in raw:
        try:
            doc = loads(item)
        except JSONDecodeError:
            log.warning("skipping malformed evidence entry")
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


__all__ = ["DEFAULT_WINDOW_MIN", "BrandTables", "band"]
