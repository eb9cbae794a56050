"""Slack send time and result as metrics: a wrapper around the notifier's webhook poster."""

from __future__ import annotations

import time
from typing import Protocol

from monitor.notify.slack import Answer
from monitor.ops.metrics import Metrics
from monitor.settings import Secret


class Poster(Protocol):
    async def post(self, webhook: Secret, body: bytes) -> Answer: ...


def result_of(answer: Answer) -> str:
    """A few result classes, not one label per status code (pure)."""
    status = answer.status
    if status is None:
        return "no_answer"  # timeout or connection error
    if 200 <= status < 300:
        return "ok"
    if status == 429:
        return "rate_limited"
    return "client_error" if status < 500 else "server_error"


class MeteredPoster:
    """Times every POST and counts its result; the delivery logic stays in notify/deliver.py."""

    def __init__(self, inner: Poster, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def post(self, webhook: Secret, body: bytes) -> Answer:
        started = time.perf_counter()
        answer = await self._inner.post(webhook, body)
        self._metrics.slack_send(result_of(answer), time.perf_counter() - started)
        return answer
