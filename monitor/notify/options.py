"""The notifier's knobs: one set for ``monitor notify``'s flags and every stage (pure)."""

from __future__ import annotations

from dataclasses import dataclass


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
