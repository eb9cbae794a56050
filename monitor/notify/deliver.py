"""Delivery: one sender task per webhook posts its due groups, paced and retried.

Alertmanager's retry stage and its Slack receiver's HTTP side. A sender takes the group due first
only when the webhook's pace allows a post, so alerts arriving meanwhile still join it; it posts
(or prints, for stdout) one message, retries what Slack may accept later (``pace.next_step``) and
hands the final verdict to ``settle``. A message Slack refuses as invalid is retried alert by alert,
so one odd alert cannot sink its group.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

import aiohttp
import structlog

from monitor.brands.feed import LiveRules
from monitor.logs import get_logger
from monitor.notify.dispatch import Groups, PendingAlert, Route, webhooks_in_use
from monitor.notify.options import NotifierOptions
from monitor.notify.pace import Pace, next_step
from monitor.notify.slack import (
    Answer,
    Payload,
    Verdict,
    build_message,
    fingerprint,
    judge,
    parse_retry_after,
    redact,
)
from monitor.settings import Secret
from schemas.codec import dumps

log = get_logger(__name__)

RESPONSE_READ_MAX: Final = 1024

Settle = Callable[[list[PendingAlert], Verdict], Awaitable[None]]


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


class Sender:
    """One webhook (or stdout): its open groups, its pace, and the task that drains them."""

    def __init__(
        self,
        route: Route,
        *,
        options: NotifierOptions,
        poster: WebhookPoster,
        rules: LiveRules,
        default_webhook: Secret | None,
        settle: Settle,
        halt: asyncio.Event,
        clock: Callable[[], float],
        rng: random.Random,
    ) -> None:
        self.route = route
        self.name = fingerprint(route.webhook)
        self.groups = Groups(wait_s=options.group_wait_s, max_group=options.max_group)
        self.wake = asyncio.Event()
        self.retries = 0
        self._opts = options
        self._pace = Pace(options.min_interval_s)
        self._poster = poster
        self._rules = rules
        self._default_webhook = default_webhook
        self._settle = settle
        self._halt = halt
        self._clock = clock
        self._rng = rng

    async def run(self) -> None:
        """Until the notifier halts: wait for a due group and our turn, then deliver it."""
        structlog.contextvars.bind_contextvars(webhook=self.name, route=self.route.name)
        while not self._halt.is_set():
            self.wake.clear()
            now = self._clock()
            due_at = self.groups.next_due()
            if due_at is None or due_at > now:
                timeout = None if due_at is None else due_at - now
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), timeout)
                continue
            # Wait for our turn before taking the batch, so alerts arriving meanwhile join it.
            wait = self._pace.wait_s(now)
            if self.route.webhook is not None and wait > 0:
                if await self._sleep(wait):
                    return
                continue
            batch = self.groups.take()
            for item in batch:
                item.inflight = True
            await self._deliver(batch)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless halting; True when the notifier is halting."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._halt.wait(), max(0.0, seconds))
        return self._halt.is_set()

    async def _deliver(self, batch: list[PendingAlert]) -> None:
        brand = batch[0].alert.brand
        rule = self._rules.rules.get(brand) if brand else None
        payload = build_message([i.alert for i in batch], brand_name=rule.name if rule else None)
        ids = [i.alert.alert_id for i in batch]
        with structlog.contextvars.bound_contextvars(brand=brand, alert_ids=ids):
            verdict = await self._send(payload, brand, ids)
            if verdict is None:  # halting: not done, so it is read again after the restart
                return
            if verdict.kind == "permanent" and verdict.status == 400 and len(batch) > 1:
                log.warning("slack refused a grouped message; sending its alerts one by one")
                for item in batch:
                    await self._deliver([item])
                return
            await self._settle(batch, verdict)

    async def _send(self, payload: Payload, brand: str | None, ids: list[str]) -> Verdict | None:
        """Post the message, or print it when there is no webhook."""
        if self.route.webhook is None:
            line = {"notify": "stdout", "brand": brand, "alert_ids": ids, **payload}
            sys.stdout.write(dumps(line).decode() + "\n")
            sys.stdout.flush()
            return Verdict(kind="delivered", reason="printed to stdout")
        return await self._post(self.route.webhook, dumps(payload))

    async def _post(self, webhook: Secret, body: bytes) -> Verdict | None:
        """POST with pacing and retries; a final verdict, or None when halting."""
        started = self._clock()
        attempt = 0
        while True:
            wait = self._pace.wait_s(self._clock())
            if wait > 0 and await self._sleep(wait):
                return None
            self._pace.posting(self._clock())
            verdict = judge(await self._poster.post(webhook, body))
            secrets = webhooks_in_use(self._rules.rules, self._default_webhook)
            verdict = dataclasses.replace(verdict, reason=redact(verdict.reason, secrets))
            step = next_step(
                verdict,
                attempt=attempt,
                elapsed_s=self._clock() - started,
                options=self._opts,
                rng=self._rng,
            )
            if isinstance(step, Verdict):
                return step
            self._pace.hold_until(self._clock() + step)
            self.retries += 1
            log.warning(
                "slack delivery failed; retrying",
                reason=verdict.reason,
                attempt=attempt + 1,
                retry_in_s=round(self._pace.wait_s(self._clock()), 2),
            )
            attempt += 1
