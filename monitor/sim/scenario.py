"""The standard scenario: base traffic plus planted events with known ground truth, and decoys.

Pure: builds events, brand rules and the truth list; ``monitor generate`` writes them and
``monitor evaluate`` runs them through the real pipeline and scores the alerts.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from monitor.core.units import HOUR_MS, MINUTE_MS
from monitor.sim.events import audience, comment, platform_of, post_snapshot
from monitor.sim.traffic import PLATFORMS, Timed, Traffic, comment_text, generate
from schemas.events import format_time_ms

RULES_TOML = """\
[brands.acme]
name = "Acme Shoes"
terms = ["acme", "acme shoes", "#acmeshoes", "@acme"]
exclude = ["acme corp lawsuit"]
watch_creators = ["instagram:creator00001"]

[brands.globex]
name = "Globex"
terms = ["globex", "#globex"]

[brands.initech]
name = "Initech"
terms = ["initech", "@initech"]
"""

# The base traffic mentions the brands of RULES_TOML (one spelled so only a phrase term matches).
BRAND_TERMS: Final = ("acme", "#globex", "initech", "Acme shoes")
MENTION_RATE: Final = 0.03
# Ordinary daily posters planted beside the viral post: an engagement detector must not flag them.
DAILY_POSTERS: Final = 10
DAILY_SHAPE: Final = ((HOUR_MS, 0.4), (6 * HOUR_MS, 0.75), (20 * HOUR_MS, 1.0))

NEGATIVE = (
    "this is awful, really disappointed",
    "terrible quality, I hate it",
    "worst thing ever, so angry",
    "horrible, never again",
    "this is bad and sad",
)


@dataclass(frozen=True, slots=True)
class Truth:
    type: str
    subject: str  # brand id or creator id
    start_ms: int
    label: str


@dataclass(slots=True)
class Scenario:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    truth: list[Truth] = field(default_factory=list)
    decoys: list[Truth] = field(default_factory=list)
    rules_toml: str = RULES_TOML


def standard(*, seed: int = 11, hours: int = 36, creators: int = 150) -> Scenario:
    """Base traffic for ``hours``; planted events in the last 12 hours, after enough history."""
    start = datetime(2026, 11, 10, 0, 0, tzinfo=UTC)
    traffic = Traffic(
        seed=seed,
        creators=creators,
        start=start,
        hours=hours,
        comments_per_hour=300,
        brand_terms=BRAND_TERMS,
        mention_rate=MENTION_RATE,
    )
    base = list(generate(traffic))
    plant = _Planter(random.Random(seed + 1))
    plant_h = int(start.timestamp() * 1000) + (hours - 12) * HOUR_MS
    # The order of the episodes is the order of their draws from the planter's rng.
    plant.mention_spikes(plant_h)
    by_id = {e["creator_id"]: e for t, e in base if t == "social.audience"}
    micro = _pick(by_id, 2_000, 50_000, plant.rng)
    macro = _pick(by_id, 150_000, 900_000, plant.rng)
    plant.audience_surges(base, by_id, micro, macro, plant_h + 2 * HOUR_MS)
    plant.negative_wave("instagram:creator00006", plant_h + 9 * HOUR_MS)
    viral = _pick(by_id, 2_000, 20_000, plant.rng, exclude={micro})
    if viral is not None:
        plant.viral_post(viral, by_id[viral].get("community", "travel"), plant_h + 6 * HOUR_MS)
    # drawn from an rng of their own: the episodes above stay what they were
    daily = _Planter(random.Random(seed + 2), plant.sc)
    daily.daily_posters(int(start.timestamp() * 1000), hours * HOUR_MS)
    plant.sc.events = _merge(base, plant.extra + daily.extra)
    return plant.sc


class _Planter:
    """Planted events and their truth (or decoy) rows, numbered in the order they are made."""

    def __init__(self, rng: random.Random, sc: Scenario | None = None) -> None:
        self.rng = rng
        self.sc = sc or Scenario()
        self.extra: list[Timed] = []
        self.seq = itertools.count(1)

    def comment(self, at_ms: int, creator: str, text: str, community: str) -> None:
        seq = next(self.seq)
        event = comment(
            event_id=f"s-c-{seq}",
            comment_id=f"s{seq}",
            post_id="planted",
            creator_id=creator,
            author_id=f"{platform_of(creator)}:fan{self.rng.randrange(10**6)}",
            text=text,
            at_ms=at_ms,
            community=community,
        )
        self.extra.append((at_ms, "social.comments", event))

    def burst(self, brand_text: str, n: int, at: int, creator: str, community: str) -> None:
        """``n`` comments mentioning ``brand_text`` within ten minutes from ``at``."""
        for _ in range(n):
            t = at + self.rng.randrange(10 * MINUTE_MS) // 1000 * 1000
            self.comment(t, creator, comment_text(self.rng, brand_text), community)

    def mention_spikes(self, plant_h: int) -> None:
        """Spikes of two sizes; decoy: a burst of an excluded phrase must not alert."""
        at = plant_h + 30 * MINUTE_MS
        self.burst("acme", 60, at, "instagram:creator00003", "travel")
        self.sc.truth.append(Truth("mention_spike", "acme", at, "large acme spike"))
        at = plant_h + 4 * HOUR_MS
        self.burst("#globex", 25, at, "tiktok:creator00004", "tech")
        self.sc.truth.append(Truth("mention_spike", "globex", at, "moderate globex spike"))
        at = plant_h + 7 * HOUR_MS
        self.burst("acme corp lawsuit", 60, at, "youtube:creator00005", "diy")
        self.sc.decoys.append(Truth("mention_spike", "acme", at, "excluded phrase burst"))

    def audience_surges(
        self,
        base: list[tuple[str, dict[str, Any]]],
        by_id: dict[str, dict[str, Any]],
        micro: str | None,
        macro: str | None,
        surge_at: int,
    ) -> None:
        """A micro creator grows 30 % in three hours; decoy: a macro creator growing as much."""
        surge_end = surge_at + 3 * HOUR_MS
        for who, factor, truth in ((micro, 1.3, True), (macro, 1.3, False)):
            if who is None:
                continue
            f0 = by_id[who]["followers"]
            _scale_after(base, who, surge_at, surge_end, factor)
            for k in range(1, 13):
                seq = next(self.seq)
                t = surge_at + k * (surge_end - surge_at) // 12 // 1000 * 1000
                snapshot = audience(
                    event_id=f"s-a-{seq}",
                    creator_id=who,
                    followers=int(f0 * (1 + (factor - 1) * k / 12)),
                    at_ms=t,
                    community=by_id[who].get("community", "travel"),
                )
                self.extra.append((t, "social.audience", snapshot))
            (self.sc.truth if truth else self.sc.decoys).append(
                Truth("audience_growth", who, surge_at, f"growth of {who}")
            )

    def negative_wave(self, creator: str, at: int) -> None:
        """45 negative comments on one creator within 40 minutes."""
        for _ in range(45):
            t = at + self.rng.randrange(40 * MINUTE_MS) // 1000 * 1000
            self.comment(t, creator, self.rng.choice(NEGATIVE), "skincare")
        self.sc.truth.append(Truth("sentiment_shift", creator, at, "negative wave"))

    def viral_post(self, creator: str, community: str, at: int) -> None:
        """One micro creator's new post gains thousands of interactions in an hour."""
        for k in range(1, 7):
            seq = next(self.seq)
            t = at + k * 10 * MINUTE_MS
            snapshot = post_snapshot(
                event_id=f"s-p-{seq}",
                post_id="viral-1",
                creator_id=creator,
                created_ms=at,
                at_ms=t,
                counts=(900 * k, 80 * k, 120 * k),
                text="this one blew up",
                community=community,
            )
            self.extra.append((t, "social.posts", snapshot))
        self.sc.truth.append(Truth("engagement_spike", creator, at, "viral post"))

    def daily_posters(self, start_ms: int, span_ms: int, n: int = DAILY_POSTERS) -> None:
        """Micro creators posting once a day, each post's life the usual shape (decoys).

        A post gets ``DAILY_SHAPE`` of its final interactions at +1 h, +6 h and +20 h; its final
        count is the creator's rate of its followers, give or take a quarter.
        """
        for i in range(1, n + 1):
            creator = f"{PLATFORMS[i % len(PLATFORMS)]}:daily{i:05d}"
            followers = self.rng.randrange(2_000, 50_000)
            rate = self.rng.uniform(0.01, 0.06)
            community = self.rng.choice(("travel", "tech", "diy", "skincare"))
            created = start_ms + self.rng.randrange(12 * HOUR_MS) // MINUTE_MS * MINUTE_MS
            while created + HOUR_MS < start_ms + span_ms:
                final = followers * rate * self.rng.lognormvariate(0.0, 0.25)
                for age, share in DAILY_SHAPE:
                    if created + age >= start_ms + span_ms:
                        break
                    likes = int(final * share)
                    seq = next(self.seq)
                    snapshot = post_snapshot(
                        event_id=f"s-d-{seq}",
                        post_id=f"daily{i:05d}-{created // HOUR_MS}",
                        creator_id=creator,
                        created_ms=created,
                        at_ms=created + age,
                        counts=(likes * 8 // 10, likes // 10, likes // 10),
                        text="my daily post",
                        community=community,
                        followers=followers,
                    )
                    self.extra.append((created + age, "social.posts", snapshot))
                self.sc.decoys.append(
                    Truth("engagement_spike", creator, created, "ordinary daily post")
                )
                created += 24 * HOUR_MS


def _scale_after(
    base: list[tuple[str, dict[str, Any]]], who: str, start: int, end: int, factor: float
) -> None:
    """Make the base traffic agree with a planted surge: later follower counts grow with it."""
    for i, (topic, e) in enumerate(base):
        if e["creator_id"] != who or "followers" not in e or topic == "social.comments":
            continue
        t = int(datetime.fromisoformat(e["observed_at"].replace("Z", "+00:00")).timestamp() * 1000)
        if t <= start:
            continue
        share = min(1.0, (t - start) / (end - start))
        base[i] = (topic, {**e, "followers": int(e["followers"] * (1 + (factor - 1) * share))})


def _pick(
    by_id: dict[str, dict[str, Any]],
    lo: int,
    hi: int,
    rng: random.Random,
    exclude: set[str | None] | None = None,
) -> str | None:
    ids = sorted(
        c for c, e in by_id.items() if lo <= e["followers"] < hi and c not in (exclude or set())
    )
    return rng.choice(ids) if ids else None


def _merge(
    base: list[tuple[str, dict[str, Any]]], extra: list[Timed]
) -> list[tuple[str, dict[str, Any]]]:
    def t_of(e: dict[str, Any]) -> str:
        return str(e.get("observed_at") or e["created_at"])

    keyed: list[tuple[str, str, str, dict[str, Any]]] = [
        (t_of(e), e["event_id"], t, e) for t, e in base
    ]
    keyed += [(format_time_ms(t), e["event_id"], topic, e) for t, topic, e in extra]
    keyed.sort(key=lambda x: (x[0], x[1]))
    return [(topic, e) for _, _, topic, e in keyed]


def truth_json(sc: Scenario) -> dict[str, Any]:
    def row(t: Truth) -> dict[str, Any]:
        return {
            "type": t.type,
            "subject": t.subject,
            "start": format_time_ms(t.start_ms),
            "label": t.label,
        }

    return {"planted": [row(t) for t in sc.truth], "decoys": [row(t) for t in sc.decoys]}


def iter_jsonl(sc: Scenario) -> Iterator[dict[str, Any]]:
    """Replay file lines: ``{"topic": ..., "event": {...}}``."""
    for topic, event in sc.events:
        yield {"topic": topic, "event": event}
