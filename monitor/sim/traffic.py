"""Seeded synthetic traffic: heavy-tailed creators, posts, comments and follower snapshots.

Pure: yields (contract topic, event dict) in event-time order. Scenarios with planted events
build on ``Traffic`` (see monitor/sim/scenario.py).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from monitor.core.units import HOUR_MS, MINUTE_MS
from monitor.sim.events import audience, comment, post_snapshot

Timed = tuple[int, str, dict[str, Any]]  # (event time ms, contract topic, event)

PLATFORMS = ("instagram", "tiktok", "youtube")
COMMUNITIES = (
    "vegan-cooking",
    "trail-running",
    "gaming",
    "skincare",
    "diy",
    "travel",
    "tech",
    "fitness",
)
OPENERS = ("", "honestly ", "ok ", "wow ", "lol ", "", "", "omg ", "not gonna lie ", "")
BODIES = (
    "love this so much",
    "this is great, thanks for sharing",
    "not sure about this one",
    "where did you get that?",
    "this looks terrible tbh",
    "amazing work as always",
    "I hate when this happens",
    "meh, seen better",
    "can you do a tutorial on this",
    "so helpful!!",
    "worst idea ever",
    "the colours are beautiful",
    "this made my day 😍",
    "boring...",
    "need this in my life",
    "first!",
    "that's actually hilarious 😂",
    "disappointed with the quality",
)
ENDINGS = ("", "!", " 🔥", " :)", " :(", "...", " 👏", "", "?", " ❤️")


def comment_text(rng: random.Random, mention: str | None = None) -> str:
    text = rng.choice(OPENERS) + rng.choice(BODIES)
    if mention:
        text += f" {mention}"
    if rng.random() < 0.3:
        text += ", " + rng.choice(BODIES)
    return text + rng.choice(ENDINGS)


@dataclass(slots=True)
class Creator:
    creator_id: str
    platform: str
    community: str
    followers: float
    growth_per_hour: float
    activity: float  # relative posting / commenting rate
    posts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Traffic:
    """Parameters of a synthetic stream."""

    seed: int = 7
    creators: int = 200
    start: datetime = datetime(2026, 11, 13, 0, 0, tzinfo=UTC)
    hours: int = 24
    comments_per_hour: int = 400
    brand_terms: tuple[str, ...] = ()
    mention_rate: float = 0.02


def make_creators(rng: random.Random, n: int) -> list[Creator]:
    out = []
    for i in range(n):
        platform = PLATFORMS[i % len(PLATFORMS)]
        # Pareto tail: most creators are nano/micro, a few are large.
        followers = min(5_000_000.0, 300 * rng.paretovariate(0.9))
        out.append(
            Creator(
                creator_id=f"{platform}:creator{i:05d}",
                platform=platform,
                community=rng.choice(COMMUNITIES),
                followers=followers,
                growth_per_hour=followers * rng.uniform(-0.00005, 0.0004),
                activity=rng.paretovariate(1.2),
            )
        )
    return out


def generate(t: Traffic) -> Iterator[tuple[str, dict[str, Any]]]:
    """Events hour by hour; inside an hour sorted by event time."""
    hours = _Hours(t, random.Random(t.seed))
    start_ms = int(t.start.timestamp() * 1000)
    for hour in range(t.hours):
        for _, topic, event in hours.hour(hour, start_ms + hour * HOUR_MS):
            yield topic, event


class _Hours:
    """The stream's state from hour to hour: creators, their posts, the event sequence.

    Every draw from ``rng`` happens in one fixed order, so a seed always gives the same stream.
    """

    def __init__(self, t: Traffic, rng: random.Random) -> None:
        self.t, self.rng = t, rng
        self.creators = make_creators(rng, t.creators)
        self.weights = [c.activity for c in self.creators]
        self.seq = itertools.count(1)

    def hour(self, hour: int, h0: int) -> list[Timed]:
        batch: list[Timed] = []
        for c in self.creators:
            self._tick(c, h0, batch)
        # a daily cycle: busier in the evening (UTC), quiet at night
        cycle = 0.6 + 0.4 * abs(((hour % 24) - 4) / 12 - 1)
        for _ in range(int(self.t.comments_per_hour * cycle)):
            batch.append(self._comment(h0))
        for c in self.creators:
            for post in c.posts[-3:]:  # recent posts get fresh snapshots
                if post["created"] <= h0 + HOUR_MS:
                    batch.append(self._snapshot(c, post, h0))
        batch.sort(key=lambda x: (x[0], x[2]["event_id"]))
        return batch

    def _tick(self, c: Creator, h0: int, batch: list[Timed]) -> None:
        """The creator's followers move; maybe an audience snapshot, maybe a new post."""
        rng = self.rng
        c.followers = max(0.0, c.followers + c.growth_per_hour * rng.uniform(0.5, 1.5))
        if rng.random() < 0.5:
            seq = next(self.seq)
            t_ms = h0 + rng.randrange(HOUR_MS)
            snapshot = audience(
                event_id=f"a-{seq}",
                creator_id=c.creator_id,
                followers=int(c.followers),
                at_ms=t_ms // 1000 * 1000,
                community=c.community,
            )
            batch.append((t_ms, "social.audience", snapshot))
        if rng.random() < min(0.5, 0.05 * c.activity):
            seq = next(self.seq)
            created = h0 + rng.randrange(HOUR_MS) // 1000 * 1000
            post_id = f"{c.creator_id.split(':')[1]}-{seq}"
            post = {"post_id": post_id, "created": created, "likes": 0, "comments": 0, "shares": 0}
            c.posts.append(post)

    def _comment(self, h0: int) -> Timed:
        t, rng = self.t, self.rng
        seq = next(self.seq)
        c = rng.choices(self.creators, self.weights)[0]
        t_ms = h0 + rng.randrange(HOUR_MS) // 1000 * 1000
        mention = (
            rng.choice(t.brand_terms) if t.brand_terms and rng.random() < t.mention_rate else None
        )
        author_id = f"{c.platform}:fan{rng.randrange(100_000)}"
        event = comment(
            event_id=f"c-{seq}",
            comment_id=str(seq),
            post_id=c.posts[-1]["post_id"] if c.posts else "none",
            creator_id=c.creator_id,
            author_id=author_id,
            text=comment_text(rng, mention),
            at_ms=t_ms,
            community=c.community,
        )
        return t_ms, "social.comments", event

    def _snapshot(self, c: Creator, post: dict[str, Any], h0: int) -> Timed:
        """A recent post's counts grow with the creator's audience."""
        rng = self.rng
        seq = next(self.seq)
        scale = max(1.0, c.followers / 1000)
        post["likes"] += int(rng.expovariate(1 / scale))
        post["comments"] += int(rng.expovariate(3 / scale))
        post["shares"] += int(rng.expovariate(8 / scale))
        t_ms = max(post["created"], h0 + rng.randrange(HOUR_MS) // MINUTE_MS * MINUTE_MS)
        event = post_snapshot(
            event_id=f"p-{seq}",
            post_id=post["post_id"],
            creator_id=c.creator_id,
            created_ms=post["created"],
            at_ms=t_ms,
            counts=(post["likes"], post["comments"], post["shares"]),
            text=f"new post from {c.creator_id}",
            community=c.community,
            followers=int(c.followers),
        )
        return t_ms, "social.posts", event
