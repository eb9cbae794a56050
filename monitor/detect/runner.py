"""Runs the detectors over closed event-time steps and delivers their alerts (the I/O side).

A step is judged only once every active input partition has moved past it (or went idle), so a
replay at full speed judges exactly the same steps, with the same data, as living through them.
Alerts leave through an outbox in Redis written atomically with the detector state; a delivered
marker keeps a restart from re-sending what already reached Kafka.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, cast

import redis.asyncio as aioredis

from monitor.brands.rules import BrandRule
from monitor.core.metrics import History, TierBands, creator_metrics
from monitor.core.windows import history_hours, window_sum
from monitor.detect.decisions import (
    EngagementPolicy,
    Finding,
    GrowthPolicy,
    Lifecycle,
    SentimentPolicy,
    SpikePolicy,
    Subject,
    advance,
    engagement_finding,
    growth_finding,
    sentiment_finding,
    spike_finding,
    spike_learn,
)
from monitor.ingest.pipeline import Sender
from monitor.kafka.topics import ALERTS
from monitor.logs import get_logger
from monitor.settings import Settings
from monitor.store.client import RedisMapping
from monitor.store.creators import Tables
from monitor.store.keys import DAY_MS, DETECT_STEP_MS, HOUR_MS, MINUTE_MS, Keys
from schemas.codec import dumps, loads
from schemas.events import format_time_ms
from schemas.records import Alert

log = get_logger(__name__)

MAX_MINUTES_PER_PASS: Final = 24 * 60
MAX_STEPS_PER_PASS: Final = 48
MENTION_ROUTING_MS: Final = 30 * DAY_MS
SENT_TTL_S: Final = 30 * 86400
YIELD_EVERY: Final = 50  # creators judged between two turns of the event loop


def spike_policy(rule: BrandRule | None) -> SpikePolicy:
    base = SpikePolicy()
    if rule is None:
        return base
    o = rule.spike
    return SpikePolicy(
        window_min=o.window_min or base.window_min,
        min_count=o.min_count or base.min_count,
        threshold=o.threshold or base.threshold,
        absolute_threshold=o.absolute_threshold,
    )


class Detector:
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
    ) -> None:
        self._redis = redis
        self._k = keys
        self._settings = settings
        self._tables = tables
        self._rules = rules
        self._sender = sender
        self._end_offsets = end_offsets
        self._life = lifecycle or Lifecycle()
        self._clock = clock
        self._flushing = asyncio.Lock()
        self._bands = TierBands.from_settings(settings)
        self._growth = GrowthPolicy(
            micro_min=settings.tier_micro_min, micro_max=settings.tier_macro_min
        )

    def _key(self, name: str) -> str:
        return f"{self._k.prefix}det:{name}"

    # --- time -----------------------------------------------------------------------------
    async def closed_ms(self) -> int | None:
        """Event time every input partition has passed; None while that is not known yet.

        A partition holds detection back until it is idle: fully applied up to its end offset
        and silent for ``partition_idle_s``. One with records still waiting (a topic racing
        behind the others, or not fetched yet) always holds it back, whatever the wall clock.
        """
        pipe = self._redis.pipeline(transaction=False)
        pipe.hgetall(self._k.partition_watermarks)
        pipe.hgetall(f"{self._k.prefix}pwall")
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
        sent = await self.flush_outbox()
        closed = await self.closed_ms()
        if closed is None:
            return sent
        first_raw = await self._redis.get(f"{self._k.prefix}first")
        first = int(first_raw) if first_raw else closed
        started = time.perf_counter()
        judged = await judge(closed, first)
        sent += await self.flush_outbox()
        if judged:
            log.info(
                "detection pass",
                judged=what,
                periods=judged,
                alerts=sent,
                closed=format_time_ms(closed),
                took_s=round(time.perf_counter() - started, 3),
            )
        return sent

    async def _commit(
        self, states: dict[str, dict[str, str]], cursors: dict[str, int], alerts: Sequence[Alert]
    ) -> None:
        pipe = self._redis.pipeline(transaction=True)
        for key, fields in states.items():
            if fields:
                pipe.hset(key, mapping=cast(RedisMapping, fields))
        for key, value in cursors.items():
            pipe.set(key, value)
        if alerts:
            pipe.rpush(self._key("outbox"), *[a.to_json() for a in alerts])
        await pipe.execute()

    async def flush_outbox(self) -> int:
        # the brand and creator passes flush from their own timers: one flush at a time, or both
        # could send the same alert before either marked it sent
        async with self._flushing:
            return await self._flush_outbox()

    async def _flush_outbox(self) -> int:
        raw: list[str] = await self._redis.lrange(self._key("outbox"), 0, -1)  # type: ignore[assignment]  # decode_responses=True
        if not raw:
            return 0
        sent_key = self._key("sent")
        fresh: list[tuple[str, dict[str, Any]]] = []
        for item in raw:
            alert = loads(item)
            marker = (
                f"{alert['alert_id']}|{alert['status']}|{alert['severity']}|{alert['event_time']}"
            )
            if not await self._redis.sismember(sent_key, marker):
                fresh.append((marker, alert))
        topic = self._settings.topic(ALERTS)
        await self._sender.send_many(
            [(topic, (a["brand"] or a["creator_id"] or "").encode(), dumps(a)) for _, a in fresh]
        )
        pipe = self._redis.pipeline(transaction=True)
        for marker, alert in fresh:
            pipe.sadd(sent_key, marker)
            pipe.xadd(
                self._k.alerts_stream, {"alert": dumps(alert)}, maxlen=10_000, approximate=True
            )
        pipe.expire(sent_key, SENT_TTL_S)
        pipe.ltrim(self._key("outbox"), len(raw), -1)
        await pipe.execute()
        for _, alert in fresh:
            log.info(
                "alert",
                alert_id=alert["alert_id"],
                status=alert["status"],
                brand=alert["brand"],
                creator=alert["creator_id"],
                severity=alert["severity"],
            )
        return len(fresh)

    # --- brands: mention spikes, per minute ----------------------------------------------
    async def _brand_pass(self, closed: int, first: int) -> int:
        cursor_key = self._key("minute")
        raw = await self._redis.get(cursor_key)
        cursor = int(raw) if raw else first // MINUTE_MS - 1
        target = min(closed // MINUTE_MS - 1, cursor + MAX_MINUTES_PER_PASS)
        if target <= cursor:
            return 0
        rules = self._rules()
        brands = sorted(rules)
        states_raw = await self._redis.hmget(self._key("brand"), brands) if brands else []
        detected_at = format_time_ms(int(self._clock() * 1000))
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
            counts = await self._minute_counts(brand, start - policy.window_min + 1, target)
            for m in range(start, target + 1):
                count = sum(counts.get(i, 0) for i in range(m - policy.window_min + 1, m + 1))
                finding = spike_finding(
                    name=rule.name, count=count, state=state, policy=policy, minute=m
                )
                subject = Subject(type="mention_spike", key=brand, brand=brand)
                end_ms = (m + 1) * MINUTE_MS
                if finding.active and state.get("life", {}).get("phase") != "firing":
                    finding = await self._with_spike_evidence(
                        brand, finding, end_ms, policy.window_min
                    )
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
            new_states[brand] = dumps(state).decode()
            # the public face of the baseline, for the web view's band
            expected = spike_finding(
                name=rule.name, count=0, state=state, policy=policy, minute=target + 1
            ).baseline
            public[self._k.brand_state(brand)] = {
                "baseline": str(expected),
                "window_min": str(policy.window_min),
                "updated_ms": str((target + 1) * MINUTE_MS),
            }
        await self._commit({self._key("brand"): new_states, **public}, {cursor_key: target}, alerts)
        return target - cursor

    async def _minute_counts(self, brand: str, lo: int, hi: int) -> dict[int, int]:
        base = self._k.brand(brand)
        by_day: dict[int, list[int]] = {}
        for m in range(lo, hi + 1):
            by_day.setdefault(m * MINUTE_MS // DAY_MS, []).append(m)
        pipe = self._redis.pipeline(transaction=False)
        for day, minutes in by_day.items():
            pipe.hmget(f"{base}:d:{day}", [str(m) for m in minutes])
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
            pipe.zrevrange(f"{self._k.brand(brand)}:ev:{minute}", 0, 2)
        posts = [loads(str(r)) for raw in await pipe.execute() for r in raw][:3]
        return Finding(**{**_asdict(f), "evidence": {"top_posts": posts}})

    # --- creators: growth, engagement, sentiment; brands' negative share -------------------
    async def _creator_pass(self, closed: int, first: int) -> int:
        cursor_key = self._key("step")
        raw = await self._redis.get(cursor_key)
        cursor = int(raw) if raw else first // DETECT_STEP_MS - 1
        target = min(closed // DETECT_STEP_MS - 1, cursor + MAX_STEPS_PER_PASS)
        for step in range(cursor + 1, target + 1):
            await self._judge_step(step)
        return max(0, target - cursor)

    async def _judge_step(self, step: int) -> None:
        # Data up to the step's last millisecond; alerts are stamped with the step's end.
        now = (step + 1) * DETECT_STEP_MS - 1
        end = now + 1
        detected_at = format_time_ms(int(self._clock() * 1000))
        dirty = {str(c) for c in await self._redis.smembers(f"{self._k.prefix}dirty:{step}")}
        firing = {str(c) for c in await self._redis.smembers(self._key("firing"))}
        ids = sorted(dirty | firing)
        states_key = self._key("creator")
        alerts: list[Alert] = []
        new_states: dict[str, str] = {}
        still_firing: set[str] = set()
        rules = self._rules()
        if ids:
            raw_states = await self._redis.hmget(states_key, ids)
            states = await self._tables.creator_states(ids, now, history=True, summed=True)
            for n, (state, raw) in enumerate(zip(states, raw_states, strict=True)):
                if n % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)  # let the brand pass and the ingest agent run
                if not state.known or state.history is None:
                    continue
                doc = creator_metrics(state, now, self._bands)
                st: dict[str, Any] = loads(raw) if raw else {}
                out, st = await self._judge_creator(doc, state.history, st, now, detected_at, rules)
                alerts.extend(out)
                new_states[doc["creator_id"]] = dumps(st).decode()
                if any(v.get("phase") == "firing" for k, v in st.items() if isinstance(v, dict)):
                    still_firing.add(doc["creator_id"])
        brand_alerts, brand_states = await self._judge_brand_sentiment(now, end, detected_at, rules)
        alerts.extend(brand_alerts)
        pipe_states = {states_key: new_states, self._key("brand_sent"): brand_states}
        await self._commit(pipe_states, {self._key("step"): step}, alerts)
        pipe = self._redis.pipeline(transaction=False)
        if firing - still_firing:
            pipe.srem(self._key("firing"), *(firing - still_firing))
        if still_firing:
            pipe.sadd(self._key("firing"), *still_firing)
        await pipe.execute()

    async def _judge_creator(
        self,
        doc: dict[str, Any],
        history: History,
        st: dict[str, Any],
        now: int,
        detected_at: str,
        rules: dict[str, BrandRule],
    ) -> tuple[list[Alert], dict[str, Any]]:
        cid = doc["creator_id"]
        out: list[Alert] = []
        growth = growth_finding(doc, self._growth)
        s1 = doc["sentiment_1h_counts"]
        sentiment = sentiment_finding(
            label=cid,
            negative_now=s1["negative"],
            total_now=sum(s1.values()),
            negative_before=history.negative,
            total_before=history.comments,
            window="1h",
            policy=SentimentPolicy(),
        )
        usual = history.usual_interactions(now)
        engagement = engagement_finding(doc, usual, EngagementPolicy(), self._growth)
        for kind, finding in (
            ("audience_growth", growth),
            ("sentiment_shift", sentiment),
            ("engagement_spike", engagement),
        ):
            subject = Subject(type=kind, key=cid, creator_id=cid, community=doc["community"])  # type: ignore[arg-type]  # kind is an AlertType literal
            life, records = advance(
                st.get(kind),
                subject,
                finding,
                now_ms=now + 1,  # stamped with the step's end
                detected_at=detected_at,
                policy=self._life,
            )
            st[kind] = life or {}
            if kind == "audience_growth":
                records = await self._route_growth(records, cid, now, rules)
            out.extend(records)
        tier, prev_tier = doc["tier"], st.get("tier")
        if prev_tier and tier and (prev_tier == "micro") != (tier == "micro"):
            direction = "into" if tier == "micro" else "out of"
            info = Alert(
                alert_id=f"audience_growth:{cid}:band:{format_time_ms(now + 1)}",
                type="audience_growth",
                status="firing",
                severity="info",
                brand=None,
                creator_id=cid,
                community=doc["community"],
                window="24h",
                value=doc["followers"],
                baseline=None,
                score=None,
                threshold=None,
                event_time=format_time_ms(now + 1),
                detected_at=detected_at,
                summary=f"{cid} moved {direction} the micro band "
                f"({prev_tier} → {tier}, {doc['followers']:,} followers)",
                evidence={"from": prev_tier, "to": tier},
            )
            out.extend(await self._route_growth([info], cid, now, rules))
        if tier:
            st["tier"] = tier
        return out, st

    async def _route_growth(
        self, records: list[Alert], cid: str, now: int, rules: dict[str, BrandRule]
    ) -> list[Alert]:
        """One record per brand watching or recently mentioned by the creator, plus the feed."""
        if not records:
            return records
        brands = sorted(rules)
        pipe = self._redis.pipeline(transaction=False)
        for b in brands:
            pipe.zscore(f"{self._k.brand(b)}:creators", cid)
        scores = await pipe.execute() if brands else []
        targets = [
            b
            for b, score in zip(brands, scores, strict=True)
            if cid in rules[b].watch_creators
            or (score is not None and score >= now - MENTION_ROUTING_MS)
        ]
        out: list[Alert] = []
        for rec in records:
            out.append(rec)
            for b in targets:
                if not _meets_brand_growth(rec, rules[b]):
                    continue
                out.append(
                    Alert(**{**rec.to_dict(), "brand": b, "alert_id": f"{rec.alert_id}:{b}"})
                )
        return out

    async def _judge_brand_sentiment(
        self, now: int, end: int, detected_at: str, rules: dict[str, BrandRule]
    ) -> tuple[list[Alert], dict[str, str]]:
        brands = sorted(rules)
        if not brands:
            return [], {}
        last = now // MINUTE_MS
        minutes = [str(m) for m in range(last - 59, last + 1)]
        before = history_hours(now)
        minute_days = sorted({m * MINUTE_MS // DAY_MS for m in range(last - 59, last + 1)})
        hour_days = sorted({h * HOUR_MS // DAY_MS for h in before})
        pipe = self._redis.pipeline(transaction=False)
        for b in brands:
            base = self._k.brand(b)
            for d in minute_days:
                pipe.hmget(
                    f"{base}:d:{d}", [f"cn:{m}" for m in minutes] + [f"neg:{m}" for m in minutes]
                )
            for d in hour_days:
                pipe.hgetall(f"{base}:hd:{d}")
        replies = iter(await pipe.execute())
        raw_states = await self._redis.hmget(self._key("brand_sent"), brands)
        alerts: list[Alert] = []
        states: dict[str, str] = {}
        for b, raw in zip(brands, raw_states, strict=True):
            total_now = negative_now = 0
            for _ in minute_days:
                values = [int(v or 0) for v in next(replies)]
                total_now += sum(values[:60])
                negative_now += sum(values[60:])
            merged: dict[str, int] = {}
            for _ in hour_days:
                merged.update({k: int(v) for k, v in next(replies).items()})
            f = sentiment_finding(
                label=rules[b].name,
                negative_now=negative_now,
                total_now=total_now,
                negative_before=window_sum(merged, "neg", before),
                total_before=window_sum(merged, "cn", before),
                window="1h",
                policy=SentimentPolicy(),
            )
            life, out = advance(
                loads(raw) if raw else None,
                Subject(type="sentiment_shift", key=b, brand=b),
                f,
                now_ms=end,
                detected_at=detected_at,
                policy=self._life,
            )
            states[b] = dumps(life or {}).decode()
            alerts.extend(out)
        return alerts, states


def _meets_brand_growth(rec: Alert, rule: BrandRule) -> bool:
    """A brand may ask for more growth than the defaults before it hears of a firing alert."""
    o = rule.growth
    if rec.status != "firing" or rec.severity == "info":
        return True
    if o.min_abs is not None and rec.value < o.min_abs:
        return False
    return not (o.min_pct is not None and (rec.score or 0.0) < o.min_pct)


def _asdict(f: Finding) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(f)
