"""Runs the detectors over closed event-time steps and delivers their alerts (the I/O side).

A step is judged only once every active input partition has moved past it (or went idle), so a
replay at full speed judges exactly the same steps, with the same data, as living through them.
Each pass commits its state, cursors and alerts in one transaction through ``Outbox``, which then
sends them; the decisions themselves are pure (decisions, lifecycle, creators, brand_rules).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any, Final

import redis.asyncio as aioredis

from monitor.brands.rules import BrandRule
from monitor.core.metrics import TierBands, creator_metrics
from monitor.core.units import DAY_MS, HOUR_MS, MINUTE_MS
from monitor.core.windows import history_hours, window_sum
from monitor.detect.brand_rules import growth_audience, route_growth, spike_policy
from monitor.detect.creators import CreatorPolicies, any_firing, judge_creator
from monitor.detect.decisions import (
    GrowthPolicy,
    SentimentPolicy,
    SpikePolicy,
    sentiment_finding,
    spike_finding,
    spike_learn,
    spike_public_state,
)
from monitor.detect.lifecycle import Finding, Lifecycle, Subject, advance
from monitor.detect.outbox import Outbox
from monitor.ingest.pipeline import Sender
from monitor.logs import get_logger
from monitor.ops.metrics import Metrics
from monitor.settings import Settings
from monitor.store.creators import Tables
from monitor.store.keys import DETECT_STEP_MS, Keys
from schemas.codec import dumps, loads
from schemas.events import format_time_ms
from schemas.records import Alert

log = get_logger(__name__)

MAX_MINUTES_PER_PASS: Final = 24 * 60
MAX_STEPS_PER_PASS: Final = 48
YIELD_EVERY: Final = 50  # creators judged between two turns of the event loop
# Posts read per micro creator: the last day's posts and the earlier ones they are judged against
POSTS_READ: Final = 24


class Detector:
    """Brand and creator passes over closed time; state lives in Redis, so any worker can lead."""

    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        keys: Keys,
        settings: Settings,
        tables: Tables,
        rules: Callable[[], dict[str, BrandRule]],
        sender: Sender,
        end_offsets: Callable[[], Awaitable[dict[str, int]]],
        lifecycle: Lifecycle | None = None,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self._redis = redis
        self._k = keys
        self._settings = settings
        self._tables = tables
        self._rules = rules
        self._end_offsets = end_offsets
        self._life = lifecycle or Lifecycle()
        self._clock = clock
        self._metrics = metrics or Metrics()
        self._outbox = Outbox(redis=redis, keys=keys, settings=settings, sender=sender)
        self._bands = TierBands.from_settings(settings)
        self._growth = GrowthPolicy(
            micro_min=settings.tier_micro_min, micro_max=settings.tier_macro_min
        )
        self._creator_policies = CreatorPolicies(growth=self._growth, life=self._life)

    # --- time -----------------------------------------------------------------------------
    async def closed_ms(self) -> int | None:
        """Event time every input partition has passed; None while that is not known yet.

        A partition holds detection back until it is idle: fully applied up to its end offset
        and silent for ``partition_idle_s``. One with records still waiting (a topic racing
        behind the others, or not fetched yet) always holds it back, whatever the wall clock.
        """
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._k.partition_watermarks)
        pipe.hgetall(self._k.partition_walls)
        pipe.hgetall(self._k.offsets)
        pwm, pwall, applied = await pipe.execute()
        if not pwm:
            return None
        ends = await self._end_offsets()
        wall = self._clock() * 1000
        idle_ms = self._settings.partition_idle_s * 1000
        holding = []
        for tp, end in ends.items():
            caught_up = int(applied.get(tp, -1)) >= end - 1
            if not caught_up and tp not in pwm:
                return None  # records on a partition not applied at all yet
            if not caught_up or wall - int(pwall.get(tp, 0)) < idle_ms:
                holding.append(int(pwm.get(tp, 0)))
        return min(holding) if holding else max(int(t) for t in pwm.values())

    # --- passes -----------------------------------------------------------------------------
    async def run_brands(self) -> int:
        """Mention spikes of every newly closed minute.

        Runs on its own timer: a spike must not wait behind the creator steps, which take longer.
        """
        return await self._run("brands", self._brand_pass)

    async def run_creators(self) -> int:
        """Creator detectors and brands' sentiment of every newly closed five-minute step."""
        return await self._run("creators", self._creator_pass)

    async def _run(self, what: str, judge: Callable[[int, int], Awaitable[int]]) -> int:
        sent = await self._outbox.flush()
        closed = await self.closed_ms()
        if closed is None:
            return sent
        first_raw = await self._redis.get(self._k.first_event)
        first = int(first_raw) if first_raw else closed
        started = time.perf_counter()
        judged = await judge(closed, first)
        sent += await self._outbox.flush()
        if judged:
            self._metrics.detect_pass(what, time.perf_counter() - started)
            log.info(
                "detection pass",
                judged=what,
                periods=judged,
                alerts=sent,
                closed=format_time_ms(closed),
                took_s=round(time.perf_counter() - started, 3),
            )
        return sent

    def _detected_at(self) -> str:
        return format_time_ms(int(self._clock() * 1000))

    # --- brands: mention spikes, per minute ----------------------------------------------
    async def _brand_pass(self, closed: int, first: int) -> int:
        raw = await self._redis.get(self._k.detect_minute)
        cursor = int(raw) if raw else first // MINUTE_MS - 1
        target = min(closed // MINUTE_MS - 1, cursor + MAX_MINUTES_PER_PASS)
        if target <= cursor:
            return 0
        rules = self._rules()
        brands = sorted(rules)
        spikes_key = self._k.detect_brand_spikes
        states_raw = await self._redis.hmget(spikes_key, brands) if brands else []
        detected_at = self._detected_at()
        alerts: list[Alert] = []
        new_states: dict[str, str] = {}
        public: dict[str, dict[str, str]] = {}
        for brand, st_raw in zip(brands, states_raw, strict=True):
            rule = rules[brand]
            policy = spike_policy(rule)
            state: dict[str, Any] = loads(st_raw) if st_raw else {}
            start = max(cursor + 1, int(state.get("minute", cursor)) + 1)
            if start > target:
                continue
            state, out = await self._judge_minutes(
                brand, rule, policy, state, range(start, target + 1), detected_at
            )
            alerts.extend(out)
            new_states[brand] = dumps(state).decode()
            public[self._k.brand_state(brand)] = spike_public_state(
                name=rule.name, state=state, policy=policy, minute=target + 1
            )
        await self._outbox.commit(
            {spikes_key: new_states, **public}, {self._k.detect_minute: target}, alerts
        )
        return target - cursor

    async def _judge_minutes(
        self,
        brand: str,
        rule: BrandRule,
        policy: SpikePolicy,
        state: dict[str, Any],
        minutes: range,
        detected_at: str,
    ) -> tuple[dict[str, Any], list[Alert]]:
        """One brand's spike state carried through consecutive minutes."""
        counts = await self._minute_counts(
            brand, minutes.start - policy.window_min + 1, minutes[-1]
        )
        subject = Subject(type="mention_spike", key=brand, brand=brand)
        alerts: list[Alert] = []
        for m in minutes:
            count = sum(counts.get(i, 0) for i in range(m - policy.window_min + 1, m + 1))
            finding = spike_finding(
                name=rule.name, count=count, state=state, policy=policy, minute=m
            )
            end_ms = (m + 1) * MINUTE_MS
            if finding.active and state.get("life", {}).get("phase") != "firing":
                finding = await self._with_spike_evidence(brand, finding, end_ms, policy.window_min)
            life, out = advance(
                state.get("life"),
                subject,
                finding,
                now_ms=end_ms,
                detected_at=detected_at,
                policy=self._life,
            )
            state = spike_learn(state, counts.get(m, 0), m, policy)
            state["life"] = life or {}
            state["minute"] = m
            alerts.extend(out)
        return state, alerts

    async def _minute_counts(self, brand: str, lo: int, hi: int) -> dict[int, int]:
        by_day: dict[int, list[int]] = {}
        for m in range(lo, hi + 1):
            by_day.setdefault(m * MINUTE_MS // DAY_MS, []).append(m)
        pipe = self._redis.pipeline(transaction=False)
        for day, minutes in by_day.items():
            pipe.hmget(self._k.brand_minutes(brand, day), [str(m) for m in minutes])
        out: dict[int, int] = {}
        for minutes, values in zip(by_day.values(), await pipe.execute(), strict=True):
            for m, v in zip(minutes, values, strict=True):
                if v:
                    out[m] = int(v)
        return out

    async def _with_spike_evidence(
        self, brand: str, f: Finding, end_ms: int, window_min: int
    ) -> Finding:
        # newest first, minute by minute back through the window (3 kept per minute)
        last = (end_ms - 1) // MINUTE_MS
        pipe = self._redis.pipeline(transaction=False)
        for minute in range(last, last - window_min, -1):
            pipe.zrevrange(self._k.brand_minute_evidence(brand, minute), 0, 2)
        posts = [loads(str(r)) for raw in await pipe.execute() for r in raw][:3]
        return replace(f, evidence={"top_posts": posts})

    # --- creators: growth, engagement, sentiment; brands' negative share -------------------
    async def _creator_pass(self, closed: int, first: int) -> int:
        raw = await self._redis.get(self._k.detect_step)
        cursor = int(raw) if raw else first // DETECT_STEP_MS - 1
        target = min(closed // DETECT_STEP_MS - 1, cursor + MAX_STEPS_PER_PASS)
        for step in range(cursor + 1, target + 1):
            await self._judge_step(step)
        return max(0, target - cursor)

    async def _judge_step(self, step: int) -> None:
        # Data up to the step's last millisecond; alerts are stamped with the step's end.
        now = (step + 1) * DETECT_STEP_MS - 1
        detected_at = self._detected_at()
        dirty = {str(c) for c in await self._redis.smembers(self._k.dirty_creators(step))}
        firing = {str(c) for c in await self._redis.smembers(self._k.detect_firing)}
        rules = self._rules()
        alerts, new_states, still_firing = await self._judge_creators(
            sorted(dirty | firing), now, detected_at, rules
        )
        brand_alerts, brand_states = await self._judge_brand_sentiment(now, detected_at, rules)
        alerts.extend(brand_alerts)
        await self._outbox.commit(
            {self._k.detect_creators: new_states, self._k.detect_brand_sentiment: brand_states},
            {self._k.detect_step: step},
            alerts,
        )
        pipe = self._redis.pipeline(transaction=False)
        if firing - still_firing:
            pipe.srem(self._k.detect_firing, *(firing - still_firing))
        if still_firing:
            pipe.sadd(self._k.detect_firing, *still_firing)
        await pipe.execute()

    async def _judge_creators(
        self, ids: Sequence[str], now: int, detected_at: str, rules: dict[str, BrandRule]
    ) -> tuple[list[Alert], dict[str, str], set[str]]:
        """Alerts, new states and the creators still firing, for the creators given."""
        alerts: list[Alert] = []
        new_states: dict[str, str] = {}
        still_firing: set[str] = set()
        if not ids:
            return alerts, new_states, still_firing
        raw_states = await self._redis.hmget(self._k.detect_creators, ids)
        states = await self._tables.creator_states(ids, now, history=True, summed=True)
        docs = {s.creator_id: creator_metrics(s, now, self._bands) for s in states if s.known}
        micro = [c for c, d in docs.items() if self._growth.is_micro(d["followers"])]
        posts = await self._tables.post_histories(micro, now, limit=POSTS_READ)
        for n, (state, raw) in enumerate(zip(states, raw_states, strict=True)):
            if n % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)  # let the brand pass and the ingest agent run
            if state.creator_id not in docs or state.history is None:
                continue
            doc = docs[state.creator_id]
            cid = doc["creator_id"]
            records, st = judge_creator(
                doc,
                state.history,
                posts.get(cid, []),
                loads(raw) if raw else {},
                now_ms=now,
                detected_at=detected_at,
                policies=self._creator_policies,
            )
            if any(r.type == "audience_growth" for r in records):
                records = route_growth(records, await self._growth_audience(cid, now, rules), rules)
            alerts.extend(records)
            new_states[cid] = dumps(st).decode()
            if any_firing(st):
                still_firing.add(cid)
        return alerts, new_states, still_firing

    async def _growth_audience(self, cid: str, now: int, rules: dict[str, BrandRule]) -> list[str]:
        """Brands that hear of the creator's growth (see ``brand_rules.growth_audience``)."""
        mentioned = await self._tables.last_mentions(cid, now) if rules else {}
        return growth_audience(cid, rules, mentioned, now)

    async def _judge_brand_sentiment(
        self, now: int, detected_at: str, rules: dict[str, BrandRule]
    ) -> tuple[list[Alert], dict[str, str]]:
        brands = sorted(rules)
        if not brands:
            return [], {}
        counts = await self._brand_comment_counts(brands, now)
        raw_states = await self._redis.hmget(self._k.detect_brand_sentiment, brands)
        alerts: list[Alert] = []
        states: dict[str, str] = {}
        for b, raw, (negative_now, total_now, negative_before, total_before) in zip(
            brands, raw_states, counts, strict=True
        ):
            f = sentiment_finding(
                label=rules[b].name,
                negative_now=negative_now,
                total_now=total_now,
                negative_before=negative_before,
                total_before=total_before,
                window="1h",
                policy=SentimentPolicy(),
            )
            life, out = advance(
                loads(raw) if raw else None,
                Subject(type="sentiment_shift", key=b, brand=b),
                f,
                now_ms=now + 1,
                detected_at=detected_at,
                policy=self._life,
            )
            states[b] = dumps(life or {}).decode()
            alerts.extend(out)
        return alerts, states

    async def _brand_comment_counts(
        self, brands: Sequence[str], now: int
    ) -> list[tuple[int, int, int, int]]:
        """Per brand: negative and all comment mentions in the last hour, then in its history."""
        last = now // MINUTE_MS
        minutes = [str(m) for m in range(last - 59, last + 1)]
        before = history_hours(now)
        minute_days = sorted({m * MINUTE_MS // DAY_MS for m in range(last - 59, last + 1)})
        hour_days = sorted({h * HOUR_MS // DAY_MS for h in before})
        fields = [f"cn:{m}" for m in minutes] + [f"neg:{m}" for m in minutes]
        pipe = self._redis.pipeline(transaction=False)
        for b in brands:
            for d in minute_days:
                pipe.hmget(self._k.brand_minutes(b, d), fields)
            for d in hour_days:
                pipe.hgetall(self._k.brand_hours(b, d))
        replies = iter(await pipe.execute())
        counts = []
        for _ in brands:
            total_now = negative_now = 0
            for _ in minute_days:
                values = [int(v or 0) for v in next(replies)]
                total_now += sum(values[:60])
                negative_now += sum(values[60:])
            merged: dict[str, int] = {}
            for _ in hour_days:
                merged.update({k: int(v) for k, v in next(replies).items()})
            counts.append(
                (
                    negative_now,
                    total_now,
                    window_sum(merged, "neg", before),
                    window_sum(merged, "cn", before),
                )
            )
        return counts
