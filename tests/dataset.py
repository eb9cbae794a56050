"""A small deterministic dataset with known answers, and a brute-force oracle for the metrics.

The oracle recomputes every metric straight from the event list (no buckets, no Redis), so the
integration tests compare two independent implementations, plus a few values checked by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NOW = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000
RETENTION = 8 * DAY


def ts(delta: timedelta) -> str:
    return (NOW + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass(frozen=True)
class Dataset:
    posts: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    audience: list[dict[str, Any]]
    late: list[tuple[str, dict[str, Any]]]
    duplicates: list[tuple[str, dict[str, Any]]]
    malformed: list[tuple[str, bytes | None, bytes, str]]  # topic, key, payload, expected code
    unkeyed: list[tuple[str, dict[str, Any]]]

    def valid_events(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            *(("social.posts", e) for e in self.posts),
            *(("social.comments", e) for e in self.comments),
            *(("social.audience", e) for e in self.audience),
            *self.unkeyed,
        ]


COMMENT_TEXTS = [
    "love these, ordering now!",
    "This is terrible. Worst purchase ever.",
    "ok I guess",
    "AMAZING!!! 😍",
    "not good, not bad",
    "I hate the new colour :(",
    "great video, thanks",
    "meh",
]


def build() -> Dataset:
    d = timedelta
    posts: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    audience: list[dict[str, Any]] = []

    # alice: micro, daily snapshots over 8 days, a jump in the last day
    for i, f in enumerate([10_000, 10_100, 10_200, 10_300, 10_400, 10_500, 10_600, 10_700]):
        audience.append(
            _aud("instagram:alice", f, ts(d(days=-8 + i, hours=1)), "vegan-cooking", f"a-al-{i}")
        )
    audience.append(_aud("instagram:alice", 12_000, ts(d(minutes=-5)), "vegan-cooking", "a-al-8"))
    # bob: nano, two snapshots 30 h apart (growth_24h uses the older one)
    audience.append(_aud("tiktok:bob", 800, ts(d(hours=-30)), "gaming", "a-bob-0"))
    audience.append(_aud("tiktok:bob", 900, ts(d(hours=-2)), "gaming", "a-bob-1"))

    # alice's post p1: four snapshots, one observed out of order later in the list
    p1 = [
        (d(hours=-2), 10, 1, 0),
        (d(minutes=-90), 40, 5, 2),
        (d(minutes=-30), 100, 12, 3),
        (d(minutes=-50), 70, 8, 3),
    ]
    for j, (obs, likes, cm, sh) in enumerate(p1):
        posts.append(
            _post(
                "instagram:alice",
                "p1",
                ts(d(hours=-2)),
                ts(obs),
                likes,
                cm,
                sh,
                f"pp1-{j}",
                "vegan-cooking",
            )
        )
    # alice's old post p0 (created 3 days ago): counts for 7 d engagement, not 24 h
    posts.append(
        _post(
            "instagram:alice",
            "p0",
            ts(d(days=-3)),
            ts(d(days=-3, hours=2)),
            300,
            20,
            5,
            "pp0-0",
            "vegan-cooking",
        )
    )
    posts.append(
        _post(
            "instagram:alice",
            "p0",
            ts(d(days=-3)),
            ts(d(hours=-3)),
            310,
            21,
            5,
            "pp0-1",
            "vegan-cooking",
        )
    )
    # bob's post with two snapshots
    posts.append(
        _post("tiktok:bob", "b1", ts(d(hours=-5)), ts(d(hours=-5)), 5, 0, 0, "pb1-0", "gaming")
    )
    posts.append(
        _post("tiktok:bob", "b1", ts(d(hours=-5)), ts(d(minutes=-20)), 25, 4, 1, "pb1-1", "gaming")
    )
    # carol: macro, followers only from post snapshots, no community tag
    posts.append(
        _post(
            "youtube:carol",
            "c1",
            ts(d(hours=-10)),
            ts(d(hours=-10)),
            1000,
            50,
            20,
            "pc1-0",
            None,
            followers=250_000,
        )
    )
    posts.append(
        _post(
            "youtube:carol",
            "c1",
            ts(d(hours=-10)),
            ts(d(hours=-1)),
            5000,
            300,
            90,
            "pc1-1",
            None,
            followers=251_000,
        )
    )

    # comments: alice gets 6 within the hour and 2 older; bob gets 3 older than an hour
    for k, text in enumerate(COMMENT_TEXTS[:6]):
        comments.append(
            _comment(
                "instagram:alice",
                "p1",
                text,
                ts(d(minutes=-55 + 9 * k)),
                f"c-al-{k}",
                "vegan-cooking",
            )
        )
    for k, text in enumerate(COMMENT_TEXTS[6:]):
        comments.append(
            _comment(
                "instagram:alice",
                "p0",
                text,
                ts(d(hours=-20 + k)),
                f"c-al-old-{k}",
                "vegan-cooking",
            )
        )
    for k, text in enumerate(COMMENT_TEXTS[1:4]):
        comments.append(
            _comment("tiktok:bob", "b1", text, ts(d(hours=-4, minutes=k)), f"c-bob-{k}", "gaming")
        )

    duplicates = [
        ("social.comments", comments[0]),
        ("social.posts", posts[1]),
        ("social.audience", audience[-1]),
    ]
    late = [
        (
            "social.comments",
            _comment(
                "instagram:alice", "p0", "old news", ts(d(days=-9)), "c-late-0", "vegan-cooking"
            ),
        ),
        ("social.audience", _aud("tiktok:bob", 500, ts(d(days=-10)), "gaming", "a-late-0")),
    ]
    too_long = orjson.dumps(
        _comment("tiktok:bob", "b1", "x" * 100_001, ts(d(hours=-1)), "c-long", None)
    )
    no_zone = orjson.dumps(
        {
            **_aud("tiktok:bob", 1, ts(d(hours=-1)), None, "a-nozone"),
            "observed_at": "2026-11-20T10:00:00",
        }
    )
    missing = orjson.dumps(
        {
            k: v
            for k, v in _aud("tiktok:bob", 1, ts(d(hours=-1)), None, "a-miss").items()
            if k != "followers"
        }
    )
    negative = orjson.dumps(
        _post("tiktok:bob", "b2", ts(d(hours=-1)), ts(d(hours=-1)), -1, 0, 0, "p-neg", None)
    )
    # ahead of both the watermark and the wall clock (see monitor/ingest/plan.py)
    ahead = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    future = orjson.dumps(_aud("tiktok:bob", 1, ahead, None, "a-future"))
    wrong_type = orjson.dumps(
        {**_aud("tiktok:bob", 1, ts(d(hours=-1)), None, "a-wt"), "followers": "12"}
    )
    malformed: list[tuple[str, bytes | None, bytes, str]] = [
        ("social.comments", b"tiktok:bob", b"{not json", "invalid_json"),
        ("social.comments", b"tiktok:bob", b'{"text": "\xff\xfe"}', "invalid_utf8"),
        ("social.comments", b"tiktok:bob", too_long, "text_too_long"),
        ("social.audience", b"tiktok:bob", no_zone, "bad_timestamp"),
        ("social.audience", b"tiktok:bob", missing, "missing_field"),
        ("social.posts", b"tiktok:bob", negative, "negative_count"),
        ("social.audience", b"tiktok:bob", future, "future_timestamp"),
        ("social.audience", b"tiktok:bob", wrong_type, "wrong_type"),
        ("social.posts", b"tiktok:bob", b"[1, 2]", "not_an_object"),
    ]
    unkeyed = [
        (
            "social.comments",
            _comment("tiktok:bob", "b1", "so good!", ts(d(minutes=-10)), "c-unkeyed", "gaming"),
        )
    ]
    return Dataset(posts, comments, audience, late, duplicates, malformed, unkeyed)


def _aud(
    creator: str, followers: int, observed: str, community: str | None, eid: str
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "event_id": eid,
        "platform": creator.split(":")[0],
        "creator_id": creator,
        "followers": followers,
        "observed_at": observed,
    }
    if community:
        e["community"] = community
    return e


def _post(
    creator: str,
    post: str,
    created: str,
    observed: str,
    likes: int,
    cm: int,
    sh: int,
    eid: str,
    community: str | None,
    followers: int | None = None,
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "event_id": eid,
        "platform": creator.split(":")[0],
        "post_id": post,
        "creator_id": creator,
        "created_at": created,
        "observed_at": observed,
        "likes": likes,
        "comments": cm,
        "shares": sh,
        "text": f"post {post}",
    }
    if community:
        e["community"] = community
    if followers is not None:
        e["followers"] = followers
    return e


def _comment(
    creator: str, post: str, text: str, created: str, eid: str, community: str | None
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "event_id": eid,
        "platform": creator.split(":")[0],
        "comment_id": eid,
        "post_id": post,
        "creator_id": creator,
        "text": text,
        "created_at": created,
    }
    if community:
        e["community"] = community
    return e


# --- oracle -----------------------------------------------------------------------------------
_VADER = SentimentIntensityAnalyzer()


def _bands(f: int | None) -> str | None:
    if f is None:
        return None
    return "nano" if f < 1000 else "micro" if f < 100_000 else "macro" if f < 1_000_000 else "mega"


def oracle(events: list[tuple[str, dict[str, Any]]], creator: str) -> dict[str, Any]:
    """Every contract metric for one creator, brute force from the (deduplicated) events."""
    evs = [(t, e) for t, e in events if e["creator_id"] == creator]
    now = max(ms(e.get("observed_at") or e["created_at"]) for _, e in events)
    horizon = now - RETENTION
    snaps = sorted(
        (ms(e["observed_at"]), e["followers"])
        for t, e in evs
        if t != "social.comments" and "followers" in e and ms(e["observed_at"]) >= horizon
    )
    newest = snaps[-1] if snaps else None

    def at(cut: int) -> tuple[int, int] | None:
        older = [s for s in snaps if s[0] <= cut]
        return older[-1] if older else None

    def growth(old: tuple[int, int] | None) -> tuple[int | None, float | None]:
        if newest is None or old is None:
            return None, None
        delta = newest[1] - old[1]
        return delta, (round(delta * 100 / old[1], 4) if old[1] else None)

    followers = newest[1] if newest else None
    g24, g24p = growth(at(now - DAY))
    g7, g7p = growth(at(now - 7 * DAY))
    m_lo, h_lo = now // MIN - 59, now // HOUR - 23

    post_snaps: dict[str, list[tuple[int, int, int]]] = {}
    for t, e in evs:
        if t == "social.posts":
            post_snaps.setdefault(e["post_id"], []).append(
                (
                    ms(e["observed_at"]),
                    e["likes"] + e["comments"] + e["shares"],
                    ms(e["created_at"]),
                )
            )
    int1 = int24 = 0
    newest_post: dict[str, tuple[int, int]] = {}
    for pid, ss in post_snaps.items():
        ss.sort()
        prev = 0
        for obs, tot, _ in ss:
            if obs // MIN >= m_lo:
                int1 += tot - prev
            if obs // HOUR >= h_lo:
                int24 += tot - prev
            prev = tot
        newest_post[pid] = (ss[-1][2], ss[-1][1])

    def engagement(length: int) -> tuple[float | None, int]:
        inside = [tot for created, tot in newest_post.values() if now - length < created <= now]
        if not inside or not followers:
            return None, len(inside)
        return round(sum(inside) / followers / len(inside), 6), len(inside)

    e24, posts24 = engagement(DAY)
    e7, _ = engagement(7 * DAY)
    comms = [
        (ms(e["created_at"]), _VADER.polarity_scores(e["text"])["compound"])
        for t, e in evs
        if t == "social.comments"
    ]

    def sentiment(pred: Any) -> tuple[float | None, dict[str, int], int]:
        scores = [s for c, s in comms if pred(c)]
        counts = {
            "positive": sum(s >= 0.05 for s in scores),
            "neutral": sum(-0.05 < s < 0.05 for s in scores),
            "negative": sum(s <= -0.05 for s in scores),
        }
        mean = (
            round(sum(round(s * 10000) for s in scores) / 10000 / len(scores), 4)
            if scores
            else None
        )
        return mean, counts, len(scores)

    s1, s1c, c1 = sentiment(lambda c: c // MIN >= m_lo)
    s24, s24c, c24 = sentiment(lambda c: c // HOUR >= h_lo)
    tagged = sorted(
        (ms(e.get("observed_at") or e["created_at"]), e["community"])
        for _, e in evs
        if e.get("community")
    )
    return {
        "creator_id": creator,
        "platform": creator.split(":")[0],
        "community": tagged[-1][1] if tagged else None,
        "followers": followers,
        "tier": _bands(followers),
        "growth_24h": g24,
        "growth_24h_pct": g24p,
        "growth_7d": g7,
        "growth_7d_pct": g7p,
        "engagement_rate_24h": e24,
        "engagement_rate_7d": e7,
        "posts_24h": posts24,
        "interactions_1h": int1,
        "interactions_24h": int24,
        "comments_1h": c1,
        "comments_24h": c24,
        "sentiment_1h": s1,
        "sentiment_1h_counts": s1c,
        "sentiment_24h": s24,
        "sentiment_24h_counts": s24c,
        "mentions_24h": {},
    }
