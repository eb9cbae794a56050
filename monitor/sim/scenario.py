"""The standard scenario: base traffic plus planted events with known ground truth, and decoys.

Pure: builds events, brand rules and the truth list; ``monitor generate`` writes them and
``monitor evaluate`` runs them through the real pipeline and scores the alerts.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from monitor.sim.traffic import Traffic, comment_text, generate
from monitor.store.keys import HOUR_MS, MINUTE_MS
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


def _comment(
    rng: random.Random, seq: int, t_ms: int, creator: str, text: str, community: str
) -> dict[str, Any]:
    platform = creator.split(":")[0]
    return {
        "event_id": f"s-c-{seq}",
        "platform": platform,
        "comment_id": f"s{seq}",
        "post_id": "planted",
        "creator_id": creator,
        "author_id": f"{platform}:fan{rng.randrange(10**6)}",
        "text": text,
        "created_at": format_time_ms(t_ms),
        "community": community,
    }


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
    rng = random.Random(seed + 1)
    t0 = int(start.timestamp() * 1000)
    plant_h = t0 + (hours - 12) * HOUR_MS
    sc = Scenario()
    extra: list[tuple[int, str, dict[str, Any]]] = []
    seq = 0

    def burst(brand_text: str, n: int, at: int, minutes: int, creator: str, community: str) -> None:
        nonlocal seq
        for _ in range(n):
            seq += 1
            t = at + rng.randrange(minutes * MINUTE_MS) // 1000 * 1000
            extra.append(
                (
                    t,
                    "social.comments",
                    _comment(rng, seq, t, creator, comment_text(rng, brand_text), community),
                )
            )

    # 1. mention spikes of several sizes
    burst("acme", 60, plant_h + 30 * MINUTE_MS, 10, "instagram:creator00003", "travel")
    sc.truth.append(Truth("mention_spike", "acme", plant_h + 30 * MINUTE_MS, "large acme spike"))
    burst("#globex", 25, plant_h + 4 * HOUR_MS, 10, "tiktok:creator00004", "tech")
    sc.truth.append(
        Truth("mention_spike", "globex", plant_h + 4 * HOUR_MS, "moderate globex spike")
    )
    # decoy: a burst of an excluded phrase must not alert
    burst("acme corp lawsuit", 60, plant_h + 7 * HOUR_MS, 10, "youtube:creator00005", "diy")
    sc.decoys.append(Truth("mention_spike", "acme", plant_h + 7 * HOUR_MS, "excluded phrase burst"))

    # 2. audience growth surge of a micro creator; decoy: a macro creator growing
    by_id = {e["creator_id"]: e for t, e in base if t == "social.audience"}
    micro = _pick(by_id, 2_000, 50_000, rng)
    macro = _pick(by_id, 150_000, 900_000, rng)
    surge_at = plant_h + 2 * HOUR_MS
    surge_end = surge_at + 3 * HOUR_MS
    for who, factor, truth in ((micro, 1.3, True), (macro, 1.3, False)):
        if who is None:
            continue
        f0 = by_id[who]["followers"]
        _scale_after(base, who, surge_at, surge_end, factor)
        for k in range(1, 13):
            seq += 1
            t = surge_at + k * (surge_end - surge_at) // 12 // 1000 * 1000
            extra.append(
                (
                    t,
                    "social.audience",
                    {
                        "event_id": f"s-a-{seq}",
                        "platform": who.split(":")[0],
                        "creator_id": who,
                        "followers": int(f0 * (1 + (factor - 1) * k / 12)),
                        "observed_at": format_time_ms(t),
                        "community": by_id[who].get("community", "travel"),
                    },
                )
            )
        (sc.truth if truth else sc.decoys).append(
            Truth("audience_growth", who, surge_at, f"growth of {who}")
        )

    # 3. a negative sentiment wave on one creator
    wave_creator = "instagram:creator00006"
    wave_at = plant_h + 9 * HOUR_MS
    for _ in range(45):
        seq += 1
        t = wave_at + rng.randrange(40 * MINUTE_MS) // 1000 * 1000
        extra.append(
            (
                t,
                "social.comments",
                _comment(rng, seq, t, wave_creator, rng.choice(NEGATIVE), "skincare"),
            )
        )
    sc.truth.append(Truth("sentiment_shift", wave_creator, wave_at, "negative wave"))

    # 4. a viral post: one micro creator's new post gains thousands of interactions in an hour
    viral = _pick(by_id, 2_000, 20_000, rng, exclude={micro})
    if viral is not None:
        viral_at = plant_h + 6 * HOUR_MS
        for k in range(1, 7):
            seq += 1
            t = viral_at + k * 10 * MINUTE_MS
            extra.append(
                (
                    t,
                    "social.posts",
                    {
                        "event_id": f"s-p-{seq}",
                        "platform": viral.split(":")[0],
                        "post_id": "viral-1",
                        "creator_id": viral,
                        "created_at": format_time_ms(viral_at),
                        "observed_at": format_time_ms(t),
                        "likes": 900 * k,
                        "comments": 80 * k,
                        "shares": 120 * k,
                        "text": "this one blew up",
                        "community": by_id[viral].get("community", "travel"),
                    },
                )
            )
        sc.truth.append(Truth("engagement_spike", viral, viral_at, "viral post"))

    sc.events = _merge(base, extra)
    return sc


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
    base: list[tuple[str, dict[str, Any]]], extra: list[tuple[int, str, dict[str, Any]]]
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
