"""One webhook's sender with an in-memory Slack: grouped refusals, retries, halting."""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from monitor.brands.feed import LiveRules
from monitor.notify.deliver import Sender
from monitor.notify.dispatch import PendingAlert, Route
from monitor.notify.options import NotifierOptions
from monitor.notify.slack import Answer, Verdict
from monitor.settings import Secret
from schemas.codec import loads
from tests.unit.notify.samples import pending

WEBHOOK = Secret("https://hooks.example/services/T0/B0/token")
# No waits of their own, so the tests run at the sender's speed.
FAST = NotifierOptions(group_wait_s=0.0, min_interval_s=0.0, backoff_base_s=0.0, backoff_max_s=0.0)


@dataclass
class ScriptedSlack:
    """Answers posts from a script (then 200 ok) and keeps the alert ids of each post."""

    answers: deque[Answer] = field(default_factory=deque)
    posts: list[list[str]] = field(default_factory=list)
    on_post: list[Callable[[], None]] = field(default_factory=list)

    async def post(self, webhook: Secret, body: bytes) -> Answer:
        blocks = loads(body)["blocks"]
        ids = [
            e["text"].split("`")[1]
            for b in blocks
            if b["type"] == "context"
            for e in b["elements"]
            if "`" in e["text"]
        ]
        self.posts.append(ids)
        for call in self.on_post:
            call()
        return self.answers.popleft() if self.answers else Answer(status=200, body="ok")


@dataclass
class Run:
    sender: Sender
    slack: ScriptedSlack
    halt: asyncio.Event
    settled: list[tuple[list[str], Verdict]]
    changed: asyncio.Event

    def send(self, *items: PendingAlert) -> None:
        for item in items:
            self.sender.groups.add(item, 0.0)
        self.sender.wake.set()

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait (5 s at most) until ``done()``, checking after each post and each settle."""
        async with asyncio.timeout(5):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def until_settled(self, count: int) -> None:
        await self.until(lambda: len(self.settled) >= count)


@pytest.fixture
async def run(request: pytest.FixtureRequest) -> AsyncIterator[Run]:
    options: NotifierOptions = getattr(request, "param", FAST)
    slack = ScriptedSlack()
    halt = asyncio.Event()
    settled: list[tuple[list[str], Verdict]] = []
    changed = asyncio.Event()
    slack.on_post.append(changed.set)

    async def settle(batch: list[PendingAlert], verdict: Verdict) -> None:
        settled.append(([i.alert.alert_id for i in batch], verdict))
        changed.set()

    sender = Sender(
        Route(WEBHOOK, "default"),
        options=options,
        poster=slack,
        rules=LiveRules(),
        default_webhook=WEBHOOK,
        settle=settle,
        halt=halt,
        clock=asyncio.get_running_loop().time,
        rng=random.Random(0),
    )
    task = asyncio.create_task(sender.run())
    yield Run(sender, slack, halt, settled, changed)
    halt.set()
    sender.wake.set()
    async with asyncio.timeout(5):
        await task


async def test_a_group_goes_out_as_one_message_and_is_settled_once(run: Run) -> None:
    run.send(pending(1), pending(2), pending(3))
    await run.until_settled(1)
    assert run.slack.posts == [["a1", "a2", "a3"]]
    ((ids, verdict),) = run.settled
    assert ids == ["a1", "a2", "a3"]
    assert verdict.kind == "delivered"


async def test_a_grouped_message_slack_refuses_is_sent_alert_by_alert(run: Run) -> None:
    run.slack.answers.extend(
        [
            Answer(status=400, body="invalid_blocks"),
            Answer(status=200),
            Answer(status=400, body="invalid_blocks"),
        ]
    )
    run.send(pending(1), pending(2))
    await run.until_settled(2)
    assert run.slack.posts == [["a1", "a2"], ["a1"], ["a2"]]
    assert [(ids, v.kind) for ids, v in run.settled] == [
        (["a1"], "delivered"),
        (["a2"], "permanent"),
    ]


async def test_a_lone_alert_slack_refuses_is_settled_permanent_without_a_retry(run: Run) -> None:
    run.slack.answers.append(Answer(status=400, body="invalid_payload"))
    run.send(pending(1))
    await run.until_settled(1)
    assert run.slack.posts == [["a1"]]
    assert run.settled[0][1].reason == "HTTP 400 invalid_payload"


async def test_transient_answers_are_retried_until_delivered(run: Run) -> None:
    run.slack.answers.extend([Answer(status=503), Answer(status=None, error="timeout")])
    run.send(pending(1))
    await run.until_settled(1)
    assert run.slack.posts == [["a1"]] * 3
    assert run.settled[0][1].kind == "delivered"
    assert run.sender.retries == 2


SLOW_RETRY = NotifierOptions(
    group_wait_s=0.0, min_interval_s=0.0, backoff_base_s=60.0, backoff_max_s=60.0
)


@pytest.mark.parametrize("run", [SLOW_RETRY], indirect=True)
async def test_halting_while_a_retry_waits_leaves_the_alert_unsettled(run: Run) -> None:
    """Not settled means its offset is not committed: the next notifier delivers it."""
    run.slack.answers.append(Answer(status=500))
    run.slack.on_post.append(run.halt.set)
    run.send(pending(1))
    await run.until(lambda: bool(run.slack.posts))
    await asyncio.sleep(0.1)  # time enough to settle, were it going to
    assert run.settled == []
    assert run.sender.retries == 1
