"""``monitor notify``: ``monitor.alerts`` to Slack incoming webhooks, each alert exactly once.

Its own consumer group, so a slow Slack never slows the stream agents. Per record: decode →
skip if Redis says it was delivered → route (the brand's live webhook, else the default, else
stdout) → brand filters → group per (webhook, brand) for ``group_wait_s`` → one sender task per
webhook posts at most one message per ``min_interval_s``, retrying transient answers with
backoff up to ``retry_max_s`` → a Redis marker, or a dead letter → the record is done. Offsets are
committed only below the oldest record not yet done on each partition, so a crash re-reads what
was in flight and the markers keep Slack from seeing it twice.

Webhook URLs are credentials: logs name a webhook by a short hash (``wh-1a2b3c4d``), and any text
that came from outside (Slack's answer, an exception) is redacted before it is logged or
dead-lettered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import random
import signal
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol, TypeVar

import aiohttp
import redis.asyncio as aioredis
import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord
from redis.exceptions import RedisError

from monitor.brands.feed import LiveRules, follow_rules
from monitor.brands.rules import BrandRule
from monitor.kafka.clients import (
    RebalanceCallbacks,
    group_consumer_options,
    kafka_client_options,
)
from monitor.kafka.topics import ALERTS, DEADLETTER, create_topics
from monitor.logs import get_logger
from monitor.notify.slack import (
    Answer,
    Verdict,
    build_message,
    fingerprint,
    judge,
    parse_alert,
    parse_retry_after,
    redact,
)
from monitor.retry import backoff_delay, retry
from monitor.settings import Secret, Settings
from monitor.store.client import make_redis
from monitor.store.keys import NOTIFIED_TTL_S, Keys
from schemas.codec import dumps
from schemas.events import format_time_ms
from schemas.records import SEVERITY_RANK, Alert, DeadLetter

log = get_logger(__name__)
T = TypeVar("T")

POLL_MS: Final = 200
RESPONSE_READ_MAX: Final = 1024
SETTLED_KEEP: Final = 50_000
CODE_PERMANENT: Final = "slack_permanent"
CODE_EXHAUSTED: Final = "slack_retry_exhausted"
CODE_MALFORMED: Final = "malformed_alert"
Outcome = Literal["delivered", "deadletter"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifierOptions:
    group_wait_s: float = 30.0
    max_group: int = 10  # alerts per message; 10 alerts stay well inside Slack's 50 blocks
    min_interval_s: float = 1.0  # Slack: about one message per second per webhook
    request_timeout_s: float = 10.0
    retry_max_s: float = 600.0
    backoff_base_s: float = 1.0
    backoff_max_s: float = 30.0
    max_pending: int = 10_000  # records held in memory before fetching pauses


class NotifierError(RuntimeError):
    """The notifier stopped on an error (already logged, redacted)."""


def delivery_marker(alert: Alert) -> str:
    """One alert record: repeats and escalations of an episode differ in event_time/severity."""
    return f"{alert.alert_id}|{alert.status}|{alert.severity}|{alert.event_time}"


class OffsetTracker:
    """Per partition: offsets read but not done; commit points stay below the oldest of them."""

    __slots__ = ("_committed", "_next", "_open")

    def __init__(self) -> None:
        self._open: dict[TopicPartition, set[int]] = {}
        self._next: dict[TopicPartition, int] = {}
        self._committed: dict[TopicPartition, int] = {}

    def consumed(self, tp: TopicPartition, offset: int) -> None:
        self._open.setdefault(tp, set()).add(offset)
        self._next[tp] = max(self._next.get(tp, 0), offset + 1)

    def done(self, tp: TopicPartition, offset: int) -> None:
        if tp in self._open:  # a forgotten (revoked) partition is no longer ours to commit
            self._open[tp].discard(offset)

    @property
    def outstanding(self) -> int:
        return sum(len(offsets) for offsets in self._open.values())

    def commit_points(self) -> dict[TopicPartition, int]:
        points = {}
        for tp, nxt in self._next.items():
            offsets = self._open.get(tp)
            point = min(offsets) if offsets else nxt
            if point != self._committed.get(tp):
                points[tp] = point
        return points

    def committed(self, points: dict[TopicPartition, int]) -> None:
        self._committed.update(points)

    def forget(self, tps: Iterable[TopicPartition]) -> None:
        for tp in tps:
            self._open.pop(tp, None)
            self._next.pop(tp, None)
            self._committed.pop(tp, None)


@dataclass(slots=True, eq=False)
class PendingAlert:
    alert: Alert
    raw: bytes
    key: bytes | None
    marker: str
    origin: tuple[str, int, int]  # topic, partition, offset of the first record
    refs: list[tuple[TopicPartition, int]]  # every record (duplicates too) this delivery settles
    inflight: bool = False


@dataclass(slots=True, eq=False)
class Destination:
    """One webhook (or stdout): its open groups by brand and its pace."""

    webhook: Secret | None
    route: str
    name: str
    groups: dict[str | None, list[PendingAlert]] = field(default_factory=dict)
    due: dict[str | None, float] = field(default_factory=dict)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    next_post_at: float = 0.0


class WebhookPoster(Protocol):
    async def post(self, webhook: Secret, body: bytes) -> Answer: ...


class AiohttpPoster:
    """Slack webhooks over aiohttp; errors come back as an ``Answer`` without the URL in it."""

    def __init__(self, session: aiohttp.ClientSession, *, timeout_s: float) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def post(self, webhook: Secret, body: bytes) -> Answer:
        try:
            async with self._session.post(
                webhook.reveal(),
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
            ) as resp:
                text = (await resp.content.read(RESPONSE_READ_MAX)).decode("utf-8", "replace")
                wait = parse_retry_after(resp.headers.get("Retry-After"), now_s=time.time())
                return Answer(status=resp.status, body=text, retry_after_s=wait)
        except TimeoutError:
            return Answer(status=None, error="timeout")
        except aiohttp.ClientConnectionError as exc:
            return Answer(status=None, error=f"connection error ({type(exc).__name__})")
        except (aiohttp.ClientError, ValueError) as exc:
            return Answer(status=None, error=f"client error ({type(exc).__name__})")


async def _log_assigned(assigned: list[TopicPartition]) -> None:
    log.info("partitions assigned", partitions=sorted(tp.partition for tp in assigned))


class Notifier:
    def __init__(
        self,
        *,
        settings: Settings,
        options: NotifierOptions,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        redis: aioredis.Redis,
        poster: WebhookPoster,
        rules: LiveRules,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._opts = options
        self._consumer = consumer
        self._producer = producer
        self._redis = redis
        self._poster = poster
        self._rules = rules
        self._clock = clock
        self._keys = Keys(settings.redis_prefix)
        self._tracker = OffsetTracker()
        self._pending: dict[str, PendingAlert] = {}
        # Markers settled by this process, newest last: a duplicate record read while its twin
        # was being marked in Redis must not slip between the Redis check and ``_pending``.
        self._settled: OrderedDict[str, None] = OrderedDict()
        self._dests: dict[str, Destination] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._halt = asyncio.Event()
        self._rng = random.Random()
        self.counts: dict[str, int] = dict.fromkeys(
            ("delivered", "messages", "dead_letters", "already_delivered", "filtered", "retries"), 0
        )

    # --- the consumer side (one task: the only one that touches the consumer) -----------------
    async def run(self, stop: asyncio.Event) -> None:
        listener = RebalanceCallbacks(revoked=self.on_revoked, assigned=_log_assigned)
        self._consumer.subscribe([self._settings.topic(ALERTS)], listener=listener)
        log.info("notifier consuming", **dataclasses.asdict(self._opts))
        try:
            while not stop.is_set():
                self._raise_if_sender_failed()
                self._flow_control()
                batches = await self._consumer.getmany(timeout_ms=POLL_MS, max_records=500)
                records = [rec for recs in batches.values() for rec in recs]
                if records:
                    await self._accept(records)
                await self._commit()
        finally:
            await self._shutdown()

    def _flow_control(self) -> None:
        assigned = self._consumer.assignment()
        if self._tracker.outstanding >= self._opts.max_pending:
            self._consumer.pause(*assigned)
        elif self._consumer.paused():
            self._consumer.resume(*assigned)

    async def _accept(self, records: Sequence[ConsumerRecord]) -> None:
        decoded: list[tuple[TopicPartition, ConsumerRecord, Alert]] = []
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            self._tracker.consumed(tp, rec.offset)
            try:
                decoded.append((tp, rec, parse_alert(rec.value)))
            except ValueError as exc:
                origin = (rec.topic, rec.partition, rec.offset)
                await self._dead_letter([(origin, rec.key, rec.value)], CODE_MALFORMED, str(exc))
                self._tracker.done(tp, rec.offset)
        markers = [delivery_marker(alert) for _, _, alert in decoded]
        seen = await self._already_done(markers)
        for (tp, rec, alert), marker, done in zip(decoded, markers, seen, strict=True):
            offset: int = rec.offset
            if done or marker in self._settled:
                self.counts["already_delivered"] += 1
                log.info("alert already delivered; skipped", alert_id=alert.alert_id)
                self._tracker.done(tp, offset)
            elif marker in self._pending:  # a duplicate record of one waiting or in flight
                self._pending[marker].refs.append((tp, offset))
            else:
                item = PendingAlert(
                    alert=alert,
                    raw=rec.value,
                    key=rec.key,
                    marker=marker,
                    origin=(tp.topic, tp.partition, offset),
                    refs=[(tp, offset)],
                )
                self._route(item)

    def _route(self, item: PendingAlert) -> None:
        alert = item.alert
        rule = self._rules.rules.get(alert.brand) if alert.brand else None
        if rule is not None and not _rule_accepts(rule, alert):
            self.counts["filtered"] += 1
            log.info("alert filtered out by the brand's rule", alert_id=alert.alert_id)
            self._finish(item)
            return
        if rule is not None and rule.slack_webhook is not None:
            webhook, route = rule.slack_webhook, "brand"
        elif self._settings.slack_webhook is not None:
            webhook, route = self._settings.slack_webhook, "default"
        else:
            webhook, route = None, "stdout"
        dest_id = "" if webhook is None else webhook.reveal()
        dest = self._dests.get(dest_id)
        if dest is None:
            dest = self._dests[dest_id] = Destination(webhook, route, fingerprint(webhook))
            self._tasks[dest_id] = asyncio.create_task(self._drain(dest), name=dest.name)
        now = self._clock()
        group = dest.groups.setdefault(alert.brand, [])
        dest.due.setdefault(alert.brand, now + self._opts.group_wait_s)
        group.append(item)
        if len(group) >= self._opts.max_group:
            dest.due[alert.brand] = min(dest.due[alert.brand], now)
        self._pending[item.marker] = item
        dest.wake.set()

    def _finish(self, item: PendingAlert) -> None:
        for tp, offset in item.refs:
            self._tracker.done(tp, offset)
        if self._pending.get(item.marker) is item:
            del self._pending[item.marker]
        self._settled[item.marker] = None
        if len(self._settled) > SETTLED_KEEP:
            self._settled.popitem(last=False)

    async def _commit(self, only: Iterable[TopicPartition] | None = None) -> None:
        assigned = self._consumer.assignment()
        wanted = assigned if only is None else set(only) & assigned
        points = {tp: o for tp, o in self._tracker.commit_points().items() if tp in wanted}
        if not points:
            return
        try:
            await self._consumer.commit(points)
        except KafkaError as exc:
            # Not committed means re-read later; the Redis markers make that harmless.
            log.warning("offset commit failed; will retry", error=type(exc).__name__)
            return
        self._tracker.committed(points)

    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Commit what is done, then let go of what waits: the next owner reads it again."""
        await self._commit(only=revoked)
        self._tracker.forget(revoked)
        gone = set(revoked)
        for dest in self._dests.values():
            for brand, group in list(dest.groups.items()):
                for item in group:
                    item.refs = [ref for ref in item.refs if ref[0] not in gone]
                    if not item.refs and not item.inflight:
                        self._pending.pop(item.marker, None)
                kept = [item for item in group if item.refs or item.inflight]
                if kept:
                    dest.groups[brand] = kept
                else:
                    del dest.groups[brand]
                    dest.due.pop(brand, None)
        if revoked:
            log.info("partitions revoked", partitions=sorted(tp.partition for tp in revoked))

    def _raise_if_sender_failed(self) -> None:
        for task in self._tasks.values():
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("a webhook sender failed") from task.exception()

    async def _shutdown(self) -> None:
        """Let requests in flight finish (bounded), commit what is done; the rest is re-read."""
        self._halt.set()
        for dest in self._dests.values():
            dest.wake.set()
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._opts.request_timeout_s + 2)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._commit()
        log.info("notifier stopped", **self.counts)

    # --- the sender side (one task per webhook) ------------------------------------------------
    async def _drain(self, dest: Destination) -> None:
        structlog.contextvars.bind_contextvars(webhook=dest.name, route=dest.route)
        while not self._halt.is_set():
            dest.wake.clear()
            now = self._clock()
            due = [(t, b) for b, t in dest.due.items() if t <= now]
            if not due:
                timeout = min(dest.due.values()) - now if dest.due else None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(dest.wake.wait(), timeout)
                continue
            # Wait for our turn before taking the batch, so alerts arriving meanwhile join it.
            if dest.webhook is not None and dest.next_post_at > now:
                if await self._sleep(dest.next_post_at - now):
                    return
                continue
            brand = min(due, key=lambda d: d[0])[1]
            group = dest.groups[brand]
            batch, rest = group[: self._opts.max_group], group[self._opts.max_group :]
            if rest:
                dest.groups[brand] = rest
            else:
                del dest.groups[brand]
                del dest.due[brand]
            for item in batch:
                item.inflight = True
            await self._deliver(dest, batch)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopping; True when the notifier is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), max(0.0, seconds))
        return self._halt.is_set()

    async def _deliver(self, dest: Destination, batch: list[PendingAlert]) -> None:
        brand = batch[0].alert.brand
        rule = self._rules.rules.get(brand) if brand else None
        payload = build_message([i.alert for i in batch], brand_name=rule.name if rule else None)
        ids = [i.alert.alert_id for i in batch]
        with structlog.contextvars.bound_contextvars(brand=brand, alert_ids=ids):
            if dest.webhook is None:
                line = {"notify": "stdout", "brand": brand, "alert_ids": ids, **payload}
                sys.stdout.write(dumps(line).decode() + "\n")
                sys.stdout.flush()
                verdict: Verdict | None = Verdict(kind="delivered", reason="printed to stdout")
            else:
                verdict = await self._post(dest, dest.webhook, dumps(payload))
            if verdict is None:  # stopping: not done, so it is read again after the restart
                return
            if verdict.kind == "permanent" and verdict.status == 400 and len(batch) > 1:
                # One odd alert must not sink its group: try each alone.
                log.warning("slack refused a grouped message; sending its alerts one by one")
                for item in batch:
                    await self._deliver(dest, [item])
                return
            if verdict.kind == "delivered":
                await self._mark(batch, "delivered")
                self.counts["delivered"] += len(batch)
                self.counts["messages"] += 1
                log.info("alerts delivered", alerts=len(batch))
            else:
                code = CODE_PERMANENT if verdict.kind == "permanent" else CODE_EXHAUSTED
                await self._dead_letter(
                    [(i.origin, i.key, i.raw) for i in batch], code, verdict.reason
                )
                await self._mark(batch, "deadletter")
            for item in batch:
                self._finish(item)

    async def _post(self, dest: Destination, webhook: Secret, body: bytes) -> Verdict | None:
        """POST with pacing and retries; a final verdict, or None when stopping."""
        started = self._clock()
        deadline = started + self._opts.retry_max_s
        attempt = 0
        while True:
            now = self._clock()
            if dest.next_post_at > now and await self._sleep(dest.next_post_at - now):
                return None
            dest.next_post_at = self._clock() + self._opts.min_interval_s
            verdict = judge(await self._poster.post(webhook, body))
            verdict = dataclasses.replace(
                verdict, reason=redact(verdict.reason, _webhooks(self._rules, self._settings))
            )
            if verdict.kind in ("delivered", "permanent"):
                return verdict
            remaining = deadline - self._clock()
            if remaining <= 0:
                took = self._clock() - started
                reason = (
                    f"{verdict.reason}; gave up after {attempt + 1} attempts in {took:.1f}s "
                    f"(retry bound {self._opts.retry_max_s:g}s)"
                )
                return dataclasses.replace(verdict, reason=reason)
            o = self._opts
            backoff = backoff_delay(
                attempt, base_s=o.backoff_base_s, max_s=o.backoff_max_s, rng=self._rng
            )
            wait = min(verdict.wait_s if verdict.wait_s is not None else backoff, remaining)
            dest.next_post_at = max(dest.next_post_at, self._clock() + wait)
            self.counts["retries"] += 1
            log.warning(
                "slack delivery failed; retrying",
                reason=verdict.reason,
                attempt=attempt + 1,
                retry_in_s=round(dest.next_post_at - self._clock(), 2),
            )
            attempt += 1

    # --- Redis and the dead-letter topic ---------------------------------------------------------
    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        return await retry(
            what,
            call,
            transient=(RedisError, OSError),
            base_s=0.2,
            max_delay_s=5.0,
            give_up_after_s=self._settings.redis_retry_max_s,
            clock=self._clock,
            rng=self._rng,
        )

    async def _already_done(self, markers: list[str]) -> list[bool]:
        if not markers:
            return []

        async def check() -> list[bool]:
            pipe = self._redis.pipeline(transaction=False)
            for marker in markers:
                pipe.exists(self._keys.notified(marker))
            return [bool(n) for n in await pipe.execute()]

        return await self._retrying("check delivered", check)

    async def _mark(self, batch: Sequence[PendingAlert], outcome: Outcome) -> None:
        async def write() -> None:
            pipe = self._redis.pipeline(transaction=False)
            for item in batch:
                pipe.set(self._keys.notified(item.marker), outcome, ex=NOTIFIED_TTL_S)
            await pipe.execute()

        await self._retrying("mark " + outcome, write)

    async def _dead_letter(
        self,
        records: Sequence[tuple[tuple[str, int, int], bytes | None, bytes | None]],
        code: str,
        reason: str,
    ) -> None:
        """Each record (its origin, key and value) to ``monitor.deadletter``, acked by Kafka."""
        at = format_time_ms(int(time.time() * 1000))
        topic = self._settings.topic(DEADLETTER)
        futures = []
        for (src, partition, offset), key, value in records:
            letter = DeadLetter.build(
                reason=reason,
                code=code,
                topic=src,
                partition=partition,
                offset=offset,
                key=key,
                payload=value,
                at=at,
            )
            futures.append(await self._producer.send(topic, letter.to_json(), key=key))
        await asyncio.gather(*futures)
        self.counts["dead_letters"] += len(records)
        log.error("alerts dead-lettered", code=code, reason=reason, records=len(records))
        with contextlib.suppress(RedisError, OSError):  # a count for the web view, best effort
            await self._redis.hincrby(self._keys.deadletter_counts, code, len(records))


def _webhooks(rules: LiveRules, settings: Settings) -> list[Secret]:
    """Every webhook URL in use: what ``redact`` must hide in any text that came from outside."""
    hooks = [r.slack_webhook for r in rules.rules.values() if r.slack_webhook]
    return [*hooks, settings.slack_webhook] if settings.slack_webhook is not None else hooks


def _rule_accepts(rule: BrandRule, alert: Alert) -> bool:
    if rule.alert_types is not None and alert.type not in rule.alert_types:
        return False
    return rule.min_severity is None or (
        SEVERITY_RANK[alert.severity] >= SEVERITY_RANK[rule.min_severity]
    )


# --- composition root and entry points ---------------------------------------------------------


async def run_notifier(
    settings: Settings,
    *,
    group_wait_s: float = 30.0,
    options: NotifierOptions | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until ``stop`` is set (or forever); raises NotifierError when something breaks.

    ``options`` holds the other knobs (retry bound, timeouts, pacing); ``group_wait_s`` wins over
    ``options.group_wait_s``.
    """
    options = dataclasses.replace(options or NotifierOptions(), group_wait_s=group_wait_s)
    stop = stop or asyncio.Event()
    await create_topics(settings)
    rules = LiveRules()
    rules_task = asyncio.create_task(follow_rules(settings, rules), name="rules")
    redis = make_redis(settings)
    consumer = AIOKafkaConsumer(**group_consumer_options(settings, "notifier"))
    producer = AIOKafkaProducer(**kafka_client_options(settings), acks="all")
    session = aiohttp.ClientSession(trust_env=False)
    try:
        # Routing needs every brand's rule: read the rules topic to its end first.
        loaded = asyncio.create_task(rules.loaded.wait())
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({loaded, stopped, rules_task}, return_when=asyncio.FIRST_COMPLETED)
        loaded.cancel()
        stopped.cancel()
        if stop.is_set():
            return
        if rules_task.done():
            rules_task.result()
            raise RuntimeError("the rules feed stopped before the rules were loaded")
        await producer.start()
        await consumer.start()
        poster = AiohttpPoster(session, timeout_s=options.request_timeout_s)
        await Notifier(
            settings=settings,
            options=options,
            consumer=consumer,
            producer=producer,
            redis=redis,
            poster=poster,
            rules=rules,
        ).run(stop)
    except Exception as exc:
        # Whatever broke, its text may quote a webhook URL: redact before it reaches a log.
        detail = redact("".join(traceback.format_exception(exc)), _webhooks(rules, settings))
        log.error("notifier failed; undelivered alerts stay uncommitted", error=detail)
        raise NotifierError(type(exc).__name__) from None
    finally:
        rules_task.cancel()
        await asyncio.gather(rules_task, return_exceptions=True)
        await consumer.stop()
        await producer.stop()
        await session.close()
        await redis.aclose()


def options_from_args(args: argparse.Namespace) -> NotifierOptions:
    """NotifierOptions from the ``monitor notify`` flags (defined in ``monitor.cli.notify``)."""
    return NotifierOptions(
        group_wait_s=args.group_wait,
        retry_max_s=args.retry_max_s,
        request_timeout_s=args.request_timeout_s,
        min_interval_s=args.min_interval_s,
        backoff_base_s=args.backoff_base_s,
        backoff_max_s=args.backoff_max_s,
        max_group=max(1, args.max_group),
    )


def main_notify(settings: Settings, args: argparse.Namespace) -> int:
    """``monitor notify``: run until SIGTERM/SIGINT; 0 on a clean stop, 1 on a failure."""
    options = options_from_args(args)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await run_notifier(settings, group_wait_s=options.group_wait_s, options=options, stop=stop)

    try:
        asyncio.run(main())
    except NotifierError:
        return 1
    return 0
