"""One creator's detector step (pure).

Growth, sentiment and engagement findings go through the lifecycle; a creator crossing into or out
of the micro band gets an info record of its own (the band is what the growth detector watches).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from monitor.core.metrics import History
from monitor.core.posts import PostHistory
from monitor.detect.decisions import (
    EngagementPolicy,
    GrowthPolicy,
    SentimentPolicy,
    engagement_finding,
    growth_finding,
    sentiment_finding,
)
from monitor.detect.lifecycle import Finding, Lifecycle, State, Subject, advance
from schemas.events import format_time_ms
from schemas.records import Alert, AlertType

MICRO: Final = "micro"


@dataclass(frozen=True, slots=True, kw_only=True)
class CreatorPolicies:
    growth: GrowthPolicy
    life: Lifecycle
    sentiment: SentimentPolicy = field(default_factory=SentimentPolicy)
    engagement: EngagementPolicy = field(default_factory=EngagementPolicy)


def creator_findings(
    doc: dict[str, Any],
    history: History,
    posts: Sequence[PostHistory],
    now_ms: int,
    policies: CreatorPolicies,
) -> list[tuple[AlertType, Finding]]:
    """The three creator detectors on one metric document, in the order their records go out."""
    s1 = doc["sentiment_1h_counts"]
    sentiment = sentiment_finding(
        label=doc["creator_id"],
        negative_now=s1["negative"],
        total_now=sum(s1.values()),
        negative_before=history.negative,
        total_before=history.comments,
        window="1h",
        policy=policies.sentiment,
    )
    engagement = engagement_finding(doc, posts, now_ms, policies.engagement, policies.growth)
    return [
        ("audience_growth", growth_finding(doc, policies.growth)),
        ("sentiment_shift", sentiment),
        ("engagement_spike", engagement),
    ]


def judge_creator(
    doc: dict[str, Any],
    history: History,
    posts: Sequence[PostHistory],
    state: State,
    *,
    now_ms: int,
    detected_at: str,
    policies: CreatorPolicies,
) -> tuple[list[Alert], State]:
    """One step for one creator, with data up to ``now_ms``; records are stamped ``now_ms + 1``.

    ``posts``: the creator's newest posts as ``Tables.post_histories`` reads them at ``now_ms``.
    Returns the feed's records (audience_growth ones not yet routed to brands) and the new state.
    """
    cid = doc["creator_id"]
    st = dict(state)
    out: list[Alert] = []
    for kind, finding in creator_findings(doc, history, posts, now_ms, policies):
        subject = Subject(type=kind, key=cid, creator_id=cid, community=doc["community"])
        life, records = advance(
            st.get(kind),
            subject,
            finding,
            now_ms=now_ms + 1,  # stamped with the step's end
            detected_at=detected_at,
            policy=policies.life,
        )
        st[kind] = life or {}
        out.extend(records)
    band = band_crossing(doc, st.get("tier"), at_ms=now_ms + 1, detected_at=detected_at)
    if band is not None:
        out.append(band)
    if doc["tier"]:
        st["tier"] = doc["tier"]
    return out, st


def band_crossing(
    doc: dict[str, Any], prev_tier: str | None, *, at_ms: int, detected_at: str
) -> Alert | None:
    """An info record when the creator's tier moved into or out of the micro band, else None."""
    cid, tier = doc["creator_id"], doc["tier"]
    if not prev_tier or not tier or (prev_tier == MICRO) == (tier == MICRO):
        return None
    direction = "into" if tier == MICRO else "out of"
    at = format_time_ms(at_ms)
    return Alert(
        alert_id=f"audience_growth:{cid}:band:{at}",
        type="audience_growth",
        status="firing",
        severity="info",
        brand=None,
        creator_id=cid,
        community=doc["community"],
        window="24h",
        value=doc["followers"],
        baseline=None,
        score=None,
        threshold=None,
        event_time=at,
        detected_at=detected_at,
        summary=f"{cid} moved {direction} the micro band "
        f"({prev_tier} → {tier}, {doc['followers']:,} followers)",
        evidence={"from": prev_tier, "to": tier},
    )


def any_firing(state: State) -> bool:
    """Whether one of the creator's detectors is firing: it is judged every step until it clears."""
    return any(v.get("phase") == "firing" for v in state.values() if isinstance(v, dict))
