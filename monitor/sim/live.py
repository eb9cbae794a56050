"""The live scenario of ``monitor dev`` (pure): endless traffic with planted episodes.

``live_events`` replays ``history_h`` hours of synthetic traffic before the live moment, so brand
baselines (6 h) and 24 h follower growth exist, then goes on with a cycle of planted episodes
every three event-hours: a mention spike, a negative wave, an audience surge and a viral post.
The feed that sends it is monitor/dev/feed.py.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from monitor.core.units import HOUR_MS, MINUTE_MS
from monitor.sim.events import audience, comment, platform_of, post_snapshot
from monitor.sim.scenario import BRAND_TERMS, MENTION_RATE, NEGATIVE
from monitor.sim.traffic import Timed, Traffic, comment_text, generate, make_creators
from schemas.events import parse_time_ms

BRANDS: Final = ("acme", "globex", "initech")
BRAND_TEXT: Final = {"acme": "acme", "globex": "#globex", "initech": "initech"}
CYCLE_MS: Final = 3 * HOUR_MS


@dataclass(frozen=True, slots=True, kw_only=True)
class LivePlan:
    """What ``monitor dev feed`` sends: its options, with their defaults."""

    seed: int = 7
    creators: int = 60
    history_h: int = 26
    speed: float = 60.0
    comments_per_hour: int = 300


@dataclass(slots=True)
class Cast:
    """Who the planted episodes happen to (rotating through the cycles), and what is planted."""

    talkers: list[str]
    micro: list[str]
    communities: dict[str, str]
    surges: dict[str, list[tuple[int, int, float]]] = field(default_factory=dict)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (event ms, what is planted)

    def growth(self, creator: str, t: int) -> float:
        factor = 1.0
        for begin, end, grow in self.surges.get(creator, ()):
            factor *= 1 + (grow - 1) * min(1.0, max(0.0, (t - begin) / (end - begin)))
        return factor


def make_cast(plan: LivePlan) -> Cast:
    # generate() draws these same creators from a fresh Random(seed) before anything else.
    creators = make_creators(random.Random(plan.seed), plan.creators)
    micro = [c.creator_id for c in creators if 3_000 <= c.followers < 40_000]
    talkers = [c.creator_id for c in sorted(creators, key=lambda c: -c.activity)[:10]]
    communities = {c.creator_id: c.community for c in creators}
    return Cast(talkers=talkers, micro=micro or talkers, communities=communities)


def planted_cycle(cast: Cast, cycle: int, start_ms: int, rng: random.Random) -> list[Timed]:
    """One cycle of planted episodes in time order: a mention spike one minute in, a negative
    wave at 15 min, an audience surge at 30 min and a viral post at 50 min."""
    plant = _Cycle(cast, cycle, rng)
    brand = BRANDS[cycle % len(BRANDS)]
    at = start_ms + MINUTE_MS
    spiker = cast.talkers[cycle % len(cast.talkers)]
    plant.comments(spiker, at, 4, lambda: comment_text(rng, BRAND_TEXT[brand]))
    cast.notes.append((at, f"a mention spike for {brand} (40 mentions in 4 min)"))

    grumpy = cast.talkers[(cycle + 3) % len(cast.talkers)]
    at = start_ms + 15 * MINUTE_MS
    plant.comments(grumpy, at, 30, lambda: rng.choice(NEGATIVE))
    cast.notes.append((at, f"a wave of negative comments on {grumpy}"))

    grower = cast.micro[(2 * cycle) % len(cast.micro)]
    at = start_ms + 30 * MINUTE_MS
    cast.surges.setdefault(grower, []).append((at, at + HOUR_MS, 1.35))
    plant.audience_surge(grower, at)
    cast.notes.append((at, f"an audience surge of {grower} (+35% in 1 h)"))

    viral = cast.micro[(2 * cycle + 1) % len(cast.micro)]
    at = start_ms + 50 * MINUTE_MS
    plant.viral_post(viral, at)
    cast.notes.append((at, f"a viral post by {viral}"))
    plant.out.sort(key=lambda x: (x[0], x[2]["event_id"]))
    return plant.out


class _Cycle:
    """The events of one cycle's episodes, with ids ``dev-<cycle>-<kind><n>``."""

    def __init__(self, cast: Cast, cycle: int, rng: random.Random) -> None:
        self.cast, self.cycle, self.rng = cast, cycle, rng
        self.out: list[Timed] = []

    def _id(self, kind: str, n: int) -> str:
        return f"dev-{self.cycle}-{kind}{n}"

    def _community(self, creator: str) -> str:
        return self.cast.communities.get(creator, "travel")

    def comments(self, creator: str, at: int, minutes: int, texts: Callable[[], str]) -> None:
        """40 comments on ``creator`` within ``minutes`` from ``at``."""
        for _ in range(40):
            t = at + self.rng.randrange(minutes * MINUTE_MS) // 1000 * 1000
            event_id = self._id("c", len(self.out))
            text = texts()
            event = comment(
                event_id=event_id,
                comment_id=event_id,
                post_id=f"dev-{self.cycle}",
                creator_id=creator,
                author_id=f"{platform_of(creator)}:fan{self.rng.randrange(10**6)}",
                text=text,
                at_ms=t,
                community=self._community(creator),
            )
            self.out.append((t, "social.comments", event))

    def audience_surge(self, creator: str, at: int) -> None:
        """A snapshot every 5 minutes for an hour; followers 0: live_events() fills in the
        creator's count at that time, grown by the surge."""
        for k in range(1, 13):
            t = at + k * 5 * MINUTE_MS
            snapshot = audience(
                event_id=self._id("a", k),
                creator_id=creator,
                followers=0,
                at_ms=t,
                community=self._community(creator),
            )
            self.out.append((t, "social.audience", snapshot))

    def viral_post(self, creator: str, at: int) -> None:
        """A post created at ``at`` gaining thousands of interactions in the next hour."""
        for k in range(1, 7):
            t = at + k * 10 * MINUTE_MS
            post = post_snapshot(
                event_id=self._id("p", k),
                post_id=f"dev-viral-{self.cycle}",
                creator_id=creator,
                created_ms=at,
                at_ms=t,
                counts=(900 * k, 80 * k, 120 * k),
                text="blew up",
                community=self._community(creator),
            )
            self.out.append((t, "social.posts", post))


def live_events(plan: LivePlan, live_ms: int, cast: Cast) -> Iterator[Timed]:
    """Events in time order, forever: ``plan.history_h`` hours of traffic before ``live_ms``,
    then the same traffic with a cycle of planted episodes every ``CYCLE_MS``."""
    traffic = Traffic(
        seed=plan.seed,
        creators=plan.creators,
        start=datetime.fromtimestamp((live_ms - plan.history_h * HOUR_MS) / 1000, tz=UTC),
        hours=10**6,  # endless: generate() is lazy, hour by hour
        comments_per_hour=plan.comments_per_hour,
        brand_terms=BRAND_TERMS,
        mention_rate=MENTION_RATE,
    )
    rng = random.Random(plan.seed + 1)

    def traffic_events() -> Iterator[Timed]:
        for topic, ev in generate(traffic):
            yield parse_time_ms(ev.get("observed_at") or ev["created_at"]) or 0, topic, ev

    def planted() -> Iterator[Timed]:
        for cycle in range(10**9):
            yield from planted_cycle(cast, cycle, live_ms + cycle * CYCLE_MS, rng)

    counts: dict[str, int] = {}  # each creator's newest follower count in the base traffic
    for t, topic, ev in heapq.merge(traffic_events(), planted(), key=lambda x: x[0]):
        if "followers" in ev:
            # Every count of a surging creator, base and planted alike, grows with the surge.
            cid = ev["creator_id"]
            raw = counts[cid] = ev["followers"] or counts.get(cid, 0)
            if not raw:
                continue  # a planted snapshot of a creator not seen yet: nothing to grow from
            ev = {**ev, "followers": int(raw * cast.growth(cid, t))}
        yield t, topic, ev
