"""Process metrics of the worker and the notifier (prometheus_client), recorded at the I/O shells.

One registry per process object, not the library's global one, so tests can build many. Every
call is per batch, pass or Slack post, never per record: the hot path pays a few microseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Seconds: a batch applies in milliseconds; a stuck one shows up in the top buckets.
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_RECORDS = (1, 10, 50, 100, 250, 500, 1000, 2000, 5000)


class Metrics:
    """Every process metric; the worker fills the batch and detection ones, the notifier Slack's."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.plan_s = Histogram(
            "monitor_batch_plan_seconds", "Planning one batch (pure)", buckets=_SECONDS, registry=r
        )
        self.apply_s = Histogram(
            "monitor_batch_apply_seconds",
            "Applying one batch to Redis (one Lua script)",
            buckets=_SECONDS,
            registry=r,
        )
        self.batch_records = Histogram(
            "monitor_batch_records", "Records per batch", buckets=_RECORDS, registry=r
        )
        self.records = Counter(
            "monitor_records",
            "Input records by outcome: applied, duplicate, late, deadlettered",
            ["outcome"],
            registry=r,
        )
        self.deadletters = Counter(
            "monitor_process_deadletters", "Records dead-lettered, by code", ["code"], registry=r
        )
        self.detect_s = Histogram(
            "monitor_detect_pass_seconds",
            "One detection pass that judged closed periods",
            ["detector"],
            buckets=_SECONDS,
            registry=r,
        )
        self.steps_behind = Gauge(
            "monitor_detect_steps_behind",
            "Closed periods (minutes, steps) below the watermark not judged yet",
            ["detector"],
            registry=r,
        )
        self.lag = Gauge(
            "monitor_consumer_lag",
            "Records between the group's committed offset and the end, per owned partition",
            ["partition"],
            registry=r,
        )
        self.stalled = Gauge(
            "monitor_partitions_stalled",
            "Owned partitions with records waiting and no progress for MONITOR_STALL_S",
            registry=r,
        )
        self.slack_s = Histogram(
            "monitor_slack_send_seconds",
            "One POST to a Slack webhook, by result",
            ["result"],
            buckets=_SECONDS,
            registry=r,
        )
        self.slack = Counter(
            "monitor_slack_sends", "POSTs to Slack webhooks, by result", ["result"], registry=r
        )

    def batch(
        self,
        *,
        records: int,
        plan_s: float,
        apply_s: float,
        applied: int,
        duplicates: int,
        late: int,
        dead_codes: Iterable[str],
    ) -> None:
        self.batch_records.observe(records)
        self.plan_s.observe(plan_s)
        self.apply_s.observe(apply_s)
        counts: dict[str, int] = {}
        for code in dead_codes:
            counts[code] = counts.get(code, 0) + 1
        for outcome, n in (
            ("applied", applied),
            ("duplicate", duplicates),
            ("late", late),
            ("deadlettered", sum(counts.values())),
        ):
            if n:
                self.records.labels(outcome).inc(n)
        for code, n in counts.items():
            self.deadletters.labels(code).inc(n)

    def dead_lettered(self, code: str) -> None:
        """One record dead-lettered outside a batch (isolated by the pipeline's bisection)."""
        self.records.labels("deadlettered").inc()
        self.deadletters.labels(code).inc()

    def detect_pass(self, detector: str, seconds: float) -> None:
        self.detect_s.labels(detector).observe(seconds)

    def slack_send(self, result: str, seconds: float) -> None:
        self.slack_s.labels(result).observe(seconds)
        self.slack.labels(result).inc()

    def set_lags(self, lags: Mapping[str, int], *, stalled: int) -> None:
        self.lag.clear()  # partitions a rebalance took away must not linger
        for name, lag in lags.items():
            self.lag.labels(name).set(lag)
        self.stalled.set(stalled)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
