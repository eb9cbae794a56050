"""Slack webhooks: Block Kit messages, what Slack's answers mean, URL hygiene (pure).

Nothing here does I/O. Messages respect Slack's documented limits by truncating with an ellipsis
(never by failing): header 150 characters, section text 3000, at most 10 fields of 2000, at most 50
blocks. Lengths are counted in UTF-16 code units, the stricter of the ways Slack may count, so
emoji-heavy text cannot slip past a limit.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from monitor.settings import Secret
from schemas.records import Alert

HEADER_MAX: Final = 150
SECTION_MAX: Final = 3000
FIELD_MAX: Final = 2000
FIELDS_MAX: Final = 10
BLOCKS_MAX: Final = 50
CONTEXT_TEXT_MAX: Final = 2000
# Slack cuts top-level text at 40k; notifications show a line or two, so keep the fallback short.
TEXT_MAX: Final = 3000
POST_TEXT_MAX: Final = 280
TOP_POSTS_SHOWN: Final = 3
ELLIPSIS: Final = "…"

STATUS_BADGE: Final = {"firing": "🔥 FIRING", "resolved": "✅ RESOLVED"}
TYPE_LABEL: Final = {
    "mention_spike": "Mention spike",
    "audience_growth": "Audience growth",
    "sentiment_shift": "Sentiment shift",
    "engagement_spike": "Engagement spike",
}
GENERAL_FEED: Final = "general feed"

Payload = dict[str, Any]  # a Slack webhook request body (JSON object)
Block = dict[str, Any]


# --- text helpers -------------------------------------------------------------------------------


def _units(text: str) -> int:
    """Length in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-16 units, ending in an ellipsis when cut."""
    if _units(text) <= limit:
        return text
    budget = limit - 1  # the ellipsis is one unit
    used = 0
    for i, c in enumerate(text):
        used += 2 if ord(c) > 0xFFFF else 1
        if used > budget:
            return text[:i].rstrip() + ELLIPSIS
    return text  # unreachable: the loop returns once the budget is spent


def escape(text: str) -> str:
    """Slack mrkdwn escaping: ``&``, ``<`` and ``>`` (so user text cannot ping ``<!channel>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut_escaped(escaped: str, limit: int) -> str:
    """Truncate already-escaped mrkdwn without cutting an ``&amp;``-style entity in half."""
    if _units(escaped) <= limit:
        return escaped
    cut = truncate(escaped, limit)[: -len(ELLIPSIS)]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ELLIPSIS


def mrkdwn(text: str, limit: int) -> str:
    """User text as mrkdwn: escaped, then truncated to ``limit``."""
    return cut_escaped(escape(text), limit)


def fmt_number(value: float | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if abs(value) < 1e-3 or abs(value) >= 1e6:
        return f"{value:.3g}"
    return f"{value:,.4g}"


# --- messages -----------------------------------------------------------------------------------


def subject_label(alert: Alert, brand_name: str | None) -> str:
    """Who the alert is about, for humans: the brand's display name, else its id or creator."""
    if alert.brand:
        return brand_name or alert.brand
    return alert.creator_id or alert.community or GENERAL_FEED


def _header(alerts: Sequence[Alert], subject: str) -> Block:
    if len(alerts) == 1:
        a = alerts[0]
        title = f"{STATUS_BADGE[a.status]} · {TYPE_LABEL.get(a.type, a.type)} · {subject}"
    else:
        firing = sum(a.status == "firing" for a in alerts)
        resolved = len(alerts) - firing
        badges = [
            f"{badge.split(' ')[0]} {n} {badge.split(' ')[1]}"
            for badge, n in ((STATUS_BADGE["firing"], firing), (STATUS_BADGE["resolved"], resolved))
            if n
        ]
        types = {a.type for a in alerts}
        what = TYPE_LABEL.get(alerts[0].type, alerts[0].type) if len(types) == 1 else "alerts"
        title = f"{', '.join(badges)} · {what} · {subject}"
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(title, HEADER_MAX), "emoji": True},
    }


def _fields(alert: Alert) -> list[Block]:
    pairs: list[tuple[str, str]] = [
        ("Value", fmt_number(alert.value)),
        ("Baseline", fmt_number(alert.baseline)),
        ("Window", alert.window or "–"),
        ("Score", fmt_number(alert.score)),
        ("Threshold", fmt_number(alert.threshold)),
        ("Severity", alert.severity),
    ]
    if alert.creator_id:
        pairs.append(("Creator", alert.creator_id))
    if alert.community:
        pairs.append(("Community", alert.community))
    pairs.append(("Event time", alert.event_time or "–"))
    return [
        {"type": "mrkdwn", "text": mrkdwn(f"*{name}*\n{value}", FIELD_MAX)}
        for name, value in pairs[:FIELDS_MAX]
    ]


def _post_line(post: Mapping[str, Any]) -> str:
    who = str(post.get("creator_id") or "unknown creator")
    text = " ".join(str(post.get("text") or "").split())
    ref = post.get("post_id")
    where = f" (post {ref})" if ref else ""
    return f"• *{escape(who)}*{escape(where)}: {mrkdwn(truncate(text, POST_TEXT_MAX), SECTION_MAX)}"


def _evidence(alert: Alert) -> Block | None:
    evidence = alert.evidence if isinstance(alert.evidence, Mapping) else {}
    posts = evidence.get("top_posts")
    lines: list[str] = []
    if isinstance(posts, list) and posts:
        lines.append("*Top posts*")
        lines.extend(_post_line(p) for p in posts[:TOP_POSTS_SHOWN] if isinstance(p, Mapping))
    scalars = [
        f"{escape(str(k))}: {fmt_number(v) if isinstance(v, int | float) else escape(str(v))}"
        for k, v in evidence.items()
        if k != "top_posts" and (v is None or isinstance(v, str | int | float))
    ]
    if scalars:
        lines.append("*Evidence* " + " · ".join(scalars))
    if not lines:
        return None
    text = cut_escaped("\n".join(lines), SECTION_MAX)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _alert_blocks(alert: Alert) -> list[Block]:
    status_line = f"*{STATUS_BADGE[alert.status]}* · *{TYPE_LABEL.get(alert.type, alert.type)}*"
    blocks: list[Block] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": status_line
                + "\n"
                + mrkdwn(alert.summary, SECTION_MAX - _units(status_line) - 1),
            },
            "fields": _fields(alert),
        }
    ]
    evidence = _evidence(alert)
    if evidence is not None:
        blocks.append(evidence)
    ids = f"`{escape(alert.alert_id)}` · detected {escape(alert.detected_at or '–')}"
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": cut_escaped(ids, CONTEXT_TEXT_MAX)}],
        }
    )
    return blocks


def fallback_text(alerts: Sequence[Alert], subject: str) -> str:
    """The plain ``text`` Slack shows in notifications and where blocks cannot render."""
    lines = [
        f"{STATUS_BADGE[a.status]} {TYPE_LABEL.get(a.type, a.type)} · {_named(a.summary, subject)}"
        for a in alerts
    ]
    return mrkdwn("\n".join(lines), TEXT_MAX)


def _named(summary: str, subject: str) -> str:
    """The summary with its subject in front, unless it already starts with it."""
    body = summary.removeprefix("Resolved: ")
    return summary if body.startswith(subject) else f"{subject}: {summary}"


def build_message(alerts: Sequence[Alert], *, brand_name: str | None = None) -> Payload:
    """One Slack message for a group of alerts (one brand); fits Slack's limits whatever the input.

    Alerts that would push the message past 50 blocks are left out of the blocks and counted in a
    closing line; every alert still appears in the fallback text.
    """
    if not alerts:
        raise ValueError("build_message needs at least one alert")
    subject = subject_label(alerts[0], brand_name)
    blocks: list[Block] = [_header(alerts, subject)]
    shown = 0
    for alert in alerts:
        more = _alert_blocks(alert)
        divider = [{"type": "divider"}] if shown else []
        # Keep one block free for the "more alerts" line.
        if len(blocks) + len(divider) + len(more) > BLOCKS_MAX - 1:
            break
        blocks.extend(divider + more)
        shown += 1
    if shown < len(alerts):
        rest = len(alerts) - shown
        plural = "s" if rest > 1 else ""
        note = f"{ELLIPSIS} and {rest} more alert{plural} not shown (see monitor.alerts)"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
    return {"text": fallback_text(alerts, subject), "blocks": blocks}


# --- Slack's answers ----------------------------------------------------------------------------

VerdictKind = Literal["delivered", "rate_limited", "transient", "permanent"]
# Documented permanent answers; any other 4xx (except 408/429) is treated as permanent too.
PERMANENT_ERRORS: Final = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "no_service",
    410: "channel_is_archived",
}
DEFAULT_RETRY_AFTER_S: Final = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """What one POST to a webhook got back; ``status`` None when no HTTP answer came."""

    status: int | None
    body: str = ""
    retry_after_s: float | None = None
    error: str | None = None  # "timeout", "connection error (...)": never holds the URL


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    kind: VerdictKind
    reason: str
    wait_s: float | None = None  # for rate_limited: how long Slack asked us to wait
    status: int | None = None


def _body_word(body: str) -> str:
    """Slack's short error code from a body, printable and short."""
    word = " ".join(body.split())[:80]
    return "".join(c for c in word if c.isprintable())


def judge(answer: Answer) -> Verdict:
    """What a Slack webhook answer means for delivery."""
    status = answer.status
    if status is None:
        return Verdict(kind="transient", reason=answer.error or "no answer")
    word = _body_word(answer.body)
    reason = f"HTTP {status}" + (f" {word}" if word else "")
    if 200 <= status < 300:
        return Verdict(kind="delivered", reason=reason, status=status)
    if status == 429:
        wait = answer.retry_after_s if answer.retry_after_s is not None else DEFAULT_RETRY_AFTER_S
        return Verdict(kind="rate_limited", reason=reason, wait_s=max(0.0, wait), status=status)
    if status >= 500 or status == 408:
        return Verdict(kind="transient", reason=reason, status=status)
    if not word and status in PERMANENT_ERRORS:
        reason = f"HTTP {status} {PERMANENT_ERRORS[status]}"
    return Verdict(kind="permanent", reason=reason, status=status)


def parse_retry_after(value: str | None, *, now_s: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        try:
            when = parsedate_to_datetime(value.strip())
        except (TypeError, ValueError):
            return None
        if now_s is None:
            return None
        seconds = when.timestamp() - now_s
    return max(0.0, seconds) if math.isfinite(seconds) else None


# --- webhook URLs are credentials -------------------------------------------------------------


def fingerprint(webhook: Secret | None) -> str:
    """A webhook's name in logs: a short hash, never any part of the URL."""
    if webhook is None:
        return "stdout"
    return "wh-" + hashlib.sha256(webhook.reveal().encode()).hexdigest()[:8]


def redact(text: str, webhooks: Iterable[Secret]) -> str:
    """``text`` with every webhook URL, and its secret path on its own, replaced by ``***``."""
    for webhook in webhooks:
        url = webhook.reveal()
        text = text.replace(url, "***")
        path = urlsplit(url).path
        if len(path) > 1:
            text = text.replace(path, "***")
    return text


__all__ = [
    "BLOCKS_MAX",
    "FIELDS_MAX",
    "FIELD_MAX",
    "HEADER_MAX",
    "SECTION_MAX",
    "Answer",
    "Verdict",
    "build_message",
    "escape",
    "fallback_text",
    "fingerprint",
    "fmt_number",
    "judge",
    "parse_retry_after",
    "redact",
    "truncate",
]
