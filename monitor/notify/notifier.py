"""``monitor notify``: ``monitor.alerts`` to Slack incoming webhooks, each alert exactly once.

Its own consumer group, so a slow Slack never slows the stream agents. This module is the run
loop that wires the stages, as Alertmanager splits them: per record, decode → skip it if the
delivery log (``log``) already holds its outcome → done unsent if silenced (the detector marked
it, ``monitor.silence``) or inhibited (``inhibit``) → route and group (``dispatch``; a brand's
quiet hours, ``monitor.brands.quiet``, set when its group may go) → one sender task
per webhook posts, paced and retried (``deliver``, ``pace``) → its outcome in the delivery log, or
a dead letter (``deadletter``) as well → the record is done. Offsets (``offsets``) are committed
only below the oldest record not yet done on each partition, so a crash re-reads what was in
flight and the delivery log keeps Slack from seeing it twice.

Webhook URLs are credentials: logs name a webhook by a short hash (``wh-1a2b3c4d``), and any text
that came from outside (Slack's answer, an exception) is redacted before it is logged or
dead-lettered.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Final

import aiohttp
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from monitor.brands.feed import LiveRules, follow_rules
from monitor.brands.quiet import send_after
from monitor.kafka.clients import (
    RebalanceCallbacks,
    group_consumer_options,
    kafka_client_options,
)
from monitor.kafka.topics import ALERTS, create_topics
from monitor.logs import get_logger
from monitor.notify.deadletter import CODE_MALFORMED, DeadLetters, undelivered_code
from monitor.notify.deliver import AiohttpPoster, Sender, WebhookPoster
from monitor.notify.dispatch import (
    PendingAlert,
    Route,
    SourceRecord,
    choose_route,
    parse_alert,
    webhooks_in_use,
)
from monitor.notify.inhibitions import Inhibitions
from monitor.notify.log import DeliveryLog
from monitor.notify.offsets import Offsets
from monitor.notify.options import NotifierOptions
from monitor.notify.slack import Verdict, redact
from monitor.ops.endpoint import OpsEndpoint, owned_by
from monitor.ops.metrics import Metrics
from monitor.ops.slack import MeteredPoster
from monitor.settings import Settings
from monitor.store.client import make_redis
from monitor.store.keys import Keys
from schemas.records import Alert

log = get_logger(__name__)

POLL_MS: Final = 200


class NotifierError(RuntimeError):
    """The notifier stopped on an error (already logged, redacted)."""


def _source(rec: ConsumerRecord) -> SourceRecord:
    return SourceRecord(rec.topic, rec.partition, rec.offset, rec.key, rec.value)


async def _log_assigned(assigned: list[TopicPartition]) -> None:
    log.info("partitions assigned", partitions=sorted(tp.partition for tp in assigned))


class Notifier:
    """The run loop: reads alert records, hands them to senders, settles their outcomes."""

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
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        self._opts = options
        self._consumer = consumer
        self._poster = poster
        self._rules = rules
        self._clock = clock
        self._wall = wall
        self._rng = random.Random()
        keys = Keys(settings.redis_prefix)
        self._offsets = Offsets(consumer, max_pending=options.max_pending)
        self._delivery_log = DeliveryLog(
            redis, keys, give_up_after_s=settings.redis_retry_max_s, clock=clock, rng=self._rng
        )
        self._dead_letters = DeadLetters(
            settings=settings, producer=producer, redis=redis, keys=keys
        )
        self._inhibitions = Inhibitions(redis, keys)
        self._pending: dict[str, PendingAlert] = {}
        self._senders: dict[str, Sender] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._halt = asyncio.Event()
        self._counts = dict.fromkeys(
            ("delivered", "messages", "already_delivered", "filtered", "silenced", "inhibited"), 0
        )

    # --- the consumer side (one task: the only one that touches the consumer) -------------------
    async def run(self, stop: asyncio.Event) -> None:
        listener = RebalanceCallbacks(revoked=self.on_revoked, assigned=_log_assigned)
        self._consumer.subscribe([self._settings.topic(ALERTS)], listener=listener)
        log.info("notifier consuming", **dataclasses.asdict(self._opts))
        try:
            while not stop.is_set():
                self._raise_if_sender_failed()
                self._offsets.flow_control()
                batches = await self._consumer.getmany(timeout_ms=POLL_MS, max_records=500)
                records = [rec for recs in batches.values() for rec in recs]
                if records:
                    await self._accept(records)
                await self._offsets.commit()
        finally:
            await self._shutdown()

    async def _accept(self, records: Sequence[ConsumerRecord]) -> None:
        decoded = await self._decode(records)
        markers = [alert.delivery_marker for _, _, alert in decoded]
        recorded = await self._delivery_log.recorded(markers)
        for (tp, rec, alert), marker, done in zip(decoded, markers, recorded, strict=True):
            offset: int = rec.offset
            if done or self._delivery_log.settled_here(marker):
                self._counts["already_delivered"] += 1
                log.info("alert already delivered; skipped", alert_id=alert.alert_id)
                self._offsets.tracker.done(tp, offset)
            elif marker in self._pending:  # a duplicate record of one waiting or in flight
                self._pending[marker].refs.append((tp, offset))
            else:
                item = PendingAlert(
                    alert=alert, source=_source(rec), marker=marker, refs=[(tp, offset)]
                )
                # every new record advances the inhibition state, whatever happens to it next
                inhibited = await self._inhibitions.inhibited(alert)
                self._route(item, inhibited=inhibited)

    async def _decode(
        self, records: Sequence[ConsumerRecord]
    ) -> list[tuple[TopicPartition, ConsumerRecord, Alert]]:
        """Track every record; dead-letter (and finish) those that are not alerts."""
        decoded: list[tuple[TopicPartition, ConsumerRecord, Alert]] = []
        for rec in records:
            tp = TopicPartition(rec.topic, rec.partition)
            self._offsets.tracker.consumed(tp, rec.offset)
            try:
                decoded.append((tp, rec, parse_alert(rec.value)))
            except ValueError as exc:
                await self._dead_letters.send([_source(rec)], CODE_MALFORMED, str(exc))
                self._offsets.tracker.done(tp, rec.offset)
        return decoded

    def _route(self, item: PendingAlert, *, inhibited: bool) -> None:
        alert = item.alert
        if alert.silenced_by is not None or inhibited:
            why = "silenced" if alert.silenced_by is not None else "inhibited"
            self._counts[why] += 1
            log.info("alert not sent", why=why, alert_id=alert.alert_id, silence=alert.silenced_by)
            self._finish(item)
            return
        route = choose_route(alert, self._rules.rules, self._settings.slack_webhook)
        if route is None:
            self._counts["filtered"] += 1
            log.info("alert filtered out by the brand's rule", alert_id=alert.alert_id)
            self._finish(item)
            return
        sender = self._sender(route)
        now = self._clock()
        sender.groups.add(item, now, self._not_before(alert, now))
        self._pending[item.marker] = item
        sender.wake.set()

    def _not_before(self, alert: Alert, now: float) -> float | None:
        """The end of the brand's quiet hours on the run loop's clock; None when not held.

        A held record stays open, so offsets stay below it: a restart reads it again and holds
        it again, and the delivery log still keeps Slack from seeing it twice.
        """
        rule = self._rules.rules.get(alert.brand) if alert.brand else None
        if rule is None or rule.quiet_hours is None:
            return None
        wall = self._wall()
        after = send_after(rule.quiet_hours, rule.timezone, alert.severity, wall)
        if after <= wall:
            return None
        log.info("alert held for quiet hours", alert_id=alert.alert_id, held_s=round(after - wall))
        return now + (after - wall)

    def _sender(self, route: Route) -> Sender:
        """The webhook's sender, started on its first alert."""
        sender_id = "" if route.webhook is None else route.webhook.reveal()
        sender = self._senders.get(sender_id)
        if sender is None:
            sender = self._senders[sender_id] = Sender(
                route,
                options=self._opts,
                poster=self._poster,
                rules=self._rules,
                default_webhook=self._settings.slack_webhook,
                settle=self._settle,
                halt=self._halt,
                clock=self._clock,
                rng=self._rng,
            )
            self._tasks[sender_id] = asyncio.create_task(sender.run(), name=sender.name)
        return sender

    # --- outcomes (called from the sender tasks) ------------------------------------------------
    async def _settle(self, batch: list[PendingAlert], verdict: Verdict) -> None:
        """A final verdict: dead-letter what failed, log the outcome, finish the records."""
        if verdict.kind == "delivered":
            await self._delivery_log.record([i.marker for i in batch], "delivered")
            self._counts["delivered"] += len(batch)
            self._counts["messages"] += 1
            log.info("alerts delivered", alerts=len(batch))
        else:
            code = undelivered_code(verdict)
            await self._dead_letters.send([i.source for i in batch], code, verdict.reason)
            await self._delivery_log.record([i.marker for i in batch], "deadletter")
        for item in batch:
            self._finish(item)

    def _finish(self, item: PendingAlert) -> None:
        for tp, offset in item.refs:
            self._offsets.tracker.done(tp, offset)
        if self._pending.get(item.marker) is item:
            del self._pending[item.marker]
        self._delivery_log.settle(item.marker)

    # --- rebalances and stopping (the consumer task again) --------------------------------------
    async def on_revoked(self, revoked: list[TopicPartition]) -> None:
        """Commit what is done, then let go of what waits: the next owner reads it again."""
        await self._offsets.revoke(revoked)
        gone = set(revoked)
        for sender in self._senders.values():
            for item in sender.groups.release(gone):
                self._pending.pop(item.marker, None)
        if revoked:
            log.info("partitions revoked", partitions=sorted(tp.partition for tp in revoked))

    def _raise_if_sender_failed(self) -> None:
        for task in self._tasks.values():
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError("a webhook sender failed") from task.exception()

    async def _shutdown(self) -> None:
        """Let requests in flight finish (bounded), commit what is done; the rest is re-read."""
        self._halt.set()
        for sender in self._senders.values():
            sender.wake.set()
        tasks = list(self._tasks.values())
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=self._opts.request_timeout_s + 2)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._offsets.commit()
        retries = sum(sender.retries for sender in self._senders.values())
        log.info(
            "notifier stopped",
            **self._counts,
            dead_letters=self._dead_letters.sent,
            retries=retries,
        )


# --- composition root and entry points ----------------------------------------------------------


async def _rules_loaded(rules: LiveRules, feed: asyncio.Task[None], stop: asyncio.Event) -> bool:
    """Routing needs every brand's rule: wait until the rules topic is read to its end.

    False when ``stop`` came first; raises when the rules feed ended before that.
    """
    loaded = asyncio.create_task(rules.loaded.wait())
    stopped = asyncio.create_task(stop.wait())
    await asyncio.wait({loaded, stopped, feed}, return_when=asyncio.FIRST_COMPLETED)
    loaded.cancel()
    stopped.cancel()
    if stop.is_set():
        return False
    if feed.done():
        feed.result()
        raise RuntimeError("the rules feed stopped before the rules were loaded")
    return True


async def run_notifier(
    settings: Settings,
    *,
    options: NotifierOptions | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until ``stop`` is set (or forever); raises NotifierError when something breaks."""
    options = options or NotifierOptions()
    stop = stop or asyncio.Event()
    await create_topics(settings)
    rules = LiveRules()
    rules_task = asyncio.create_task(follow_rules(settings, rules), name="rules")
    redis = make_redis(settings)
    consumer = AIOKafkaConsumer(**group_consumer_options(settings, "notifier"))
    producer = AIOKafkaProducer(**kafka_client_options(settings), acks="all")
    session = aiohttp.ClientSession(trust_env=False)
    metrics = Metrics()
    ops: OpsEndpoint | None = None
    try:
        if not await _rules_loaded(rules, rules_task, stop):
            return
        await producer.start()
        await consumer.start()
        ops = OpsEndpoint(settings, role="notifier", metrics=metrics, owned=owned_by(consumer))
        await ops.start()
        poster = MeteredPoster(AiohttpPoster(session, timeout_s=options.request_timeout_s), metrics)
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
        secrets = webhooks_in_use(rules.rules, settings.slack_webhook)
        detail = redact("".join(traceback.format_exception(exc)), secrets)
        log.error("notifier failed; undelivered alerts stay uncommitted", error=detail)
        raise NotifierError(type(exc).__name__) from None
    finally:
        rules_task.cancel()
        await asyncio.gather(rules_task, return_exceptions=True)
        if ops is not None:
            await ops.stop()
        await consumer.stop()
        await producer.stop()
        await session.close()
        await redis.aclose()
