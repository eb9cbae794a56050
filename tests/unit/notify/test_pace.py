"""Pacing one webhook and deciding what a failed post means (pure, no I/O)."""

from __future__ import annotations

import random

import pytest

from monitor.notify.options import NotifierOptions
from monitor.notify.pace import Pace, next_step
from monitor.notify.slack import Answer, Verdict, judge

OPTIONS = NotifierOptions(retry_max_s=60.0, backoff_base_s=1.0, backoff_max_s=30.0)


def step(
    verdict: Verdict, attempt: int, elapsed_s: float, rng: random.Random | None = None
) -> Verdict | float:
    rng = rng or random.Random(attempt)
    return next_step(verdict, attempt=attempt, elapsed_s=elapsed_s, options=OPTIONS, rng=rng)


def test_a_webhook_gets_at_most_one_post_per_min_interval() -> None:
    pace = Pace(min_interval_s=1.0)
    assert pace.wait_s(100.0) == 0.0  # never posted: at once
    pace.posting(100.0)
    assert pace.wait_s(100.0) == 1.0
    assert pace.wait_s(100.4) == pytest.approx(0.6)
    assert pace.wait_s(101.0) == 0.0


def test_a_hold_can_push_the_next_post_later_but_never_earlier() -> None:
    pace = Pace(min_interval_s=1.0)
    pace.posting(100.0)
    pace.hold_until(100.5)  # sooner than the interval allows: no effect
    assert pace.next_post_at == 101.0
    pace.hold_until(107.0)  # Slack asked for 7 s
    assert pace.wait_s(100.0) == 7.0


@pytest.mark.parametrize(
    "answer",
    [Answer(status=200, body="ok"), Answer(status=404, body="no_service"), Answer(status=400)],
)
def test_delivered_and_permanent_answers_are_final_whatever_the_time(answer: Answer) -> None:
    verdict = judge(answer)
    for elapsed in (0.0, 1e6):
        step = next_step(
            verdict, attempt=3, elapsed_s=elapsed, options=OPTIONS, rng=random.Random()
        )
        assert step == verdict


@pytest.mark.parametrize(
    ("answer", "elapsed_s", "wait_s"),
    [
        (Answer(status=429, retry_after_s=7), 0.0, 7.0),  # Slack's Retry-After, not the backoff
        (Answer(status=429, retry_after_s=7), 57.0, 3.0),  # cut to end at the retry bound
        (Answer(status=429), 0.0, 1.0),  # 429 without Retry-After: a second
        (Answer(status=500, body="x"), 59.75, 0.25),  # backoff cut to the bound
    ],
)
def test_a_retry_waits_what_slack_asked_cut_to_the_retry_bound(
    answer: Answer, elapsed_s: float, wait_s: float
) -> None:
    step = next_step(
        judge(answer), attempt=4, elapsed_s=elapsed_s, options=OPTIONS, rng=random.Random(1)
    )
    assert step == pytest.approx(wait_s)


@pytest.mark.parametrize("attempt", range(12))
def test_retries_back_off_exponentially_with_jitter_and_a_cap(attempt: int) -> None:
    rng = random.Random(attempt)
    cap = min(30.0, 1.0 * 2**attempt)
    verdict = judge(Answer(status=503))
    waits = [step(verdict, attempt, 0.0, rng) for _ in range(50)]
    assert all(isinstance(w, float) and cap / 2 <= w <= cap for w in waits)
    assert len(set(waits)) > 1  # jittered


@pytest.mark.parametrize("elapsed_s", [60.0, 61.5])
def test_past_the_retry_bound_the_last_answer_is_final_and_says_so(elapsed_s: float) -> None:
    verdict = judge(Answer(status=None, error="timeout"))
    final = step(verdict, 5, elapsed_s)
    assert isinstance(final, Verdict)
    assert final.kind == "transient"
    assert final.reason == (
        f"timeout; gave up after 6 attempts in {elapsed_s:.1f}s (retry bound 60s)"
    )
