"""Slack message building, Slack's limits, and what its answers mean (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.notify.slack import (
    BLOCKS_MAX,
    FIELD_MAX,
    FIELDS_MAX,
    HEADER_MAX,
    SECTION_MAX,
    Answer,
    build_message,
    escape,
    fingerprint,
    fmt_number,
    judge,
    parse_retry_after,
    redact,
    truncate,
)
from monitor.settings import Secret
from schemas.codec import dumps
from tests.unit.notify.samples import make_alert


def units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def texts(message: dict[str, Any]) -> list[str]:
    """Every text string of a message, for searching."""
    out: list[str] = [message["text"]]
    for block in message["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        out.extend(f["text"] for f in block.get("fields", []))
        out.extend(e["text"] for e in block.get("elements", []))
    return out


def assert_within_limits(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= BLOCKS_MAX
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert units(block["text"]["text"]) <= HEADER_MAX
        if block["type"] == "section":
            assert units(block["text"]["text"]) <= SECTION_MAX
            assert len(block.get("fields", [])) <= FIELDS_MAX
            assert all(units(f["text"]) <= FIELD_MAX for f in block.get("fields", []))
        if block["type"] == "context":
            assert all(units(e["text"]) <= 2000 for e in block["elements"])
    assert units(message["text"]) <= 3000
    dumps(message)  # JSON-serialisable as is


def test_a_firing_alert_shows_type_brand_summary_numbers_and_evidence() -> None:
    msg = build_message([make_alert()], brand_name="Acme Shoes")
    header = msg["blocks"][0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "🔥 FIRING · Mention spike · Acme Shoes"
    section = msg["blocks"][1]
    assert "Acme Shoes: 42 mentions in 15 min" in section["text"]["text"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in section["fields"]}
    assert fields["*Value*"] == "42"
    assert fields["*Baseline*"] == "6.1"
    assert fields["*Window*"] == "15m"
    assert fields["*Score*"] == "1.2e-09"
    evidence = msg["blocks"][2]["text"]["text"]
    assert "instagram:alice" in evidence
    assert "new @acme shoes" in evidence
    assert "tiktok:bob" in evidence
    assert "mention_spike:acme:2026-11-20T10:15:00Z" in msg["blocks"][3]["elements"][0]["text"]
    assert msg["text"].startswith("🔥 FIRING Mention spike · Acme Shoes: 42 mentions")
    assert_within_limits(msg)


def test_a_resolved_alert_is_shown_as_resolved_not_firing() -> None:
    msg = build_message([make_alert(status="resolved", summary="Resolved: calm again")])
    header = msg["blocks"][0]["text"]["text"]
    assert header.startswith("✅ RESOLVED")
    assert "FIRING" not in header
    assert "🔥" not in header
    assert msg["blocks"][1]["text"]["text"].startswith("*✅ RESOLVED*")
    assert "🔥" not in msg["text"]
    assert header.endswith("· acme")  # no display name given: the brand id


def test_a_group_counts_firing_and_resolved_in_its_header() -> None:
    alerts = [
        make_alert(alert_id="a1"),
        make_alert(alert_id="a2", type="sentiment_shift"),
        make_alert(alert_id="a3", status="resolved"),
    ]
    msg = build_message(alerts, brand_name="Acme Shoes")
    assert msg["blocks"][0]["text"]["text"] == "🔥 2 FIRING, ✅ 1 RESOLVED · alerts · Acme Shoes"
    ids = [t for t in texts(msg) if t.startswith("`")]
    assert [t.split("`")[1] for t in ids] == ["a1", "a2", "a3"]
    assert sum(b["type"] == "divider" for b in msg["blocks"]) == 2
    assert msg["text"].count("\n") == 2


def test_brandless_alerts_name_the_creator() -> None:
    alert = make_alert(
        type="audience_growth", brand=None, creator_id="tiktok:bob", evidence={"followers": 15400}
    )
    msg = build_message([alert])
    assert msg["blocks"][0]["text"]["text"] == "🔥 FIRING · Audience growth · tiktok:bob"
    assert "followers: 15,400" in msg["blocks"][2]["text"]["text"]


def test_user_text_cannot_ping_channels_or_inject_links() -> None:
    alert = make_alert(
        summary="<!channel> look & <https://evil.example|click>",
        evidence={"top_posts": [{"creator_id": "<@U123>", "text": "<!here> & more"}]},
    )
    for text in texts(build_message([alert])):
        assert "<!" not in text
        assert "<@" not in text
        assert "<http" not in text
    assert (
        "&lt;!channel&gt; look &amp; &lt;https://evil.example|click&gt;"
        in texts(build_message([alert]))[2]
    )


def test_everything_is_truncated_with_an_ellipsis_never_refused() -> None:
    huge = "x" * 10_000
    alerts = [
        make_alert(
            alert_id=f"a{i}-{huge[:300]}",
            summary=huge,
            creator_id=huge,
            community="c" * 5000,
            window=huge,
            evidence={"top_posts": [{"creator_id": huge, "text": huge}] * 10, "note": huge},
        )
        for i in range(100)
    ]
    msg = build_message(alerts, brand_name="B" * 1000)
    assert_within_limits(msg)
    assert msg["blocks"][0]["text"]["text"].endswith("…")
    assert msg["blocks"][1]["text"]["text"].endswith("…")
    assert msg["text"].endswith("…")
    last = msg["blocks"][-1]
    assert last["type"] == "context"
    assert "more alerts not shown" in last["elements"][0]["text"]


def test_truncation_counts_emoji_as_two_units_and_never_cuts_an_entity() -> None:
    assert truncate("🔥" * 200, HEADER_MAX) == "🔥" * 74 + "…"
    assert units(truncate("🔥" * 200, HEADER_MAX)) <= HEADER_MAX
    assert truncate("short", 10) == "short"
    msg = build_message([make_alert(summary="&" * 5000)])
    text = msg["blocks"][1]["text"]["text"]
    assert text.endswith("&amp;…")
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


@settings(max_examples=60, deadline=None)
@given(
    summary=st.text(max_size=4000),
    brand_name=st.one_of(st.none(), st.text(max_size=400)),
    creator=st.one_of(st.none(), st.text(max_size=3000)),
    post_text=st.text(max_size=3000),
    count=st.integers(min_value=1, max_value=40),
    status=st.sampled_from(["firing", "resolved"]),
    value=st.floats(allow_nan=True, allow_infinity=True),
)
def test_any_input_fits_slacks_limits(
    summary: str,
    brand_name: str | None,
    creator: str | None,
    post_text: str,
    count: int,
    status: str,
    value: float,
) -> None:
    alerts = [
        make_alert(
            alert_id=f"id{i}",
            summary=summary,
            status=status,
            creator_id=creator,
            value=value,
            evidence={"top_posts": [{"creator_id": creator, "text": post_text}] * 4},
        )
        for i in range(count)
    ]
    assert_within_limits(build_message(alerts, brand_name=brand_name))


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "–"), (42, "42"), (42.0, "42"), (15400, "15,400"), (6.1, "6.1"), (1.2e-9, "1.2e-09"),
     (0.123456, "0.1235"), (2.5e7, "25,000,000"), (2.5e7 + 0.5, "2.5e+07"),
     (float("inf"), "inf"), (-3, "-3")],
)  # fmt: skip
def test_numbers_read_well(value: float | None, shown: str) -> None:
    assert fmt_number(value) == shown


@pytest.mark.parametrize(
    ("answer", "kind", "reason"),
    [
        (Answer(status=200, body="ok"), "delivered", "HTTP 200 ok"),
        (Answer(status=429, body="rate_limited", retry_after_s=7), "rate_limited", "HTTP 429"),
        (Answer(status=500, body="rollup_error"), "transient", "HTTP 500 rollup_error"),
        (Answer(status=503, body=""), "transient", "HTTP 503"),
        (Answer(status=None, error="timeout"), "transient", "timeout"),
        (Answer(status=None, error="connection error (X)"), "transient", "connection error"),
        (Answer(status=400, body="invalid_payload"), "permanent", "HTTP 400 invalid_payload"),
        (Answer(status=403, body="action_prohibited"), "permanent", "HTTP 403 action_prohibited"),
        (Answer(status=404, body="no_service"), "permanent", "HTTP 404 no_service"),
        (Answer(status=410, body="channel_is_archived"), "permanent", "HTTP 410 channel_is"),
        (Answer(status=410, body=""), "permanent", "HTTP 410 channel_is_archived"),
        (Answer(status=413, body="too big"), "permanent", "HTTP 413 too big"),
        (Answer(status=408, body=""), "transient", "HTTP 408"),
    ],
)
def test_slack_answers_are_judged_as_documented(answer: Answer, kind: str, reason: str) -> None:
    verdict = judge(answer)
    assert verdict.kind == kind
    assert verdict.reason.startswith(reason)


def test_429_waits_for_retry_after_or_a_second_without_it() -> None:
    assert judge(Answer(status=429, retry_after_s=7)).wait_s == 7
    assert judge(Answer(status=429)).wait_s == 1.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("2", 2.0), (" 30 ", 30.0), ("0.5", 0.5), ("-4", 0.0), ("soon", None), ("", None),
     (None, None), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0)],
)  # fmt: skip
def test_retry_after_header(header: str | None, seconds: float | None) -> None:
    now = 1445412480.0  # 2015-10-21T07:28:00Z
    assert parse_retry_after(header, now_s=now) == seconds


def test_webhook_urls_are_redacted_and_fingerprinted_without_any_part_of_them() -> None:
    url = Secret("https://hooks.slack.com/services/T0001/B0002/s3cr3tT0k3n")
    text = f"POST {url.reveal()} failed; path /services/T0001/B0002/s3cr3tT0k3n"
    cleaned = redact(text, [url])
    assert "s3cr3t" not in cleaned
    assert "T0001" not in cleaned
    fp = fingerprint(url)
    assert fp.startswith("wh-")
    assert len(fp) == 11
    assert not any(part in fp for part in ("T0001", "B0002", "s3cr", "3tT0k3n", "k3n"))
    assert fingerprint(None) == "stdout"
