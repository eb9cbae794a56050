"""The benchmark's fixed, seeded workload: creators, brands, realistic texts, events in time order.

``WorkloadSpec(events=1_000_000)`` is the issue's workload: 50% comments (20-300 characters of
social-media text: emoji, emoticons, negations, ALL CAPS, "but", boosters, punctuation runs),
30% post snapshots (captions, growing counters, half of them carrying follower counts) and 20%
follower snapshots, over 50,000 creators with Pareto-distributed activity, and 20 brands with
10-50 terms each. Smaller sizes keep the same proportions, one creator per 20 events and the same
event density (events per event-time hour), so per-event work stays comparable.

Pure and deterministic: the same spec gives the same bytes.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.codec import dumps
from schemas.events import format_time_ms

POSTS, COMMENTS, AUDIENCE = "social.posts", "social.comments", "social.audience"
FULL_EVENTS = 1_000_000
FULL_CREATORS = 50_000
FULL_HOURS = 48.0
# Type of each event in a block of ten, shuffled per block: exactly 50% / 30% / 20%.
_MIX = (COMMENTS,) * 5 + (POSTS,) * 3 + (AUDIENCE,) * 2
HOUR_MS = 3_600_000
MINUTE_MS = 60_000

PLATFORMS = ("instagram", "tiktok", "youtube", "twitch")
COMMUNITIES = tuple(
    f"{a}-{b}"
    for a, b in itertools.product(
        ("vegan", "trail", "retro", "street", "home", "night", "budget", "pro"),
        ("cooking", "running", "gaming", "style", "fitness"),
    )
)
BRAND_NAMES = (
    "acme", "globex", "initech", "umbrella", "hooli", "vandelay", "wonka", "starkwear",
    "cyberdyne", "soylent", "tyrell", "oscorp", "aperture", "monarch", "duffco", "krusty",
    "nakatomi", "pawnee", "wayfarer", "zorbly",
)  # fmt: skip
PRODUCTS = (
    "shoes", "app", "pro", "max", "mini", "store", "shop", "x1", "x2", "air", "go", "plus",
    "cola", "bar", "studio", "cloud", "phone", "watch", "lab", "deals", "official", "tv",
    "kids", "sport", "home", "energy", "skin", "coffee", "tea", "snacks", "runner", "trail",
    "ultra", "lite", "one", "neo", "flex", "care", "beauty", "gear", "games", "music", "drive",
    "pay", "bank", "fit", "eats", "fresh", "club", "labs",
)  # fmt: skip

# --- text -----------------------------------------------------------------------------------
OPENERS = (
    "", "", "", "honestly", "ok", "wow", "lol", "omg", "not gonna lie", "tbh", "ngl", "yo",
    "hmm", "ugh", "yesss", "bro", "girl", "ok but", "wait", "real talk",
)  # fmt: skip
SUBJECTS = (
    "this", "the video", "your recipe", "the new drop", "that edit", "the colour", "this routine",
    "the lighting", "the outro", "your voice", "the sound", "that trick", "the last part",
    "the thumbnail", "this collab", "the packaging", "the fit", "the song", "your setup",
    "the ending", "this take", "the intro", "your hair", "the product", "the price", "the vibe",
)  # fmt: skip
VERBS = (
    "is", "looks", "feels", "was", "seems", "is kinda", "is not", "isn't", "was never", "is really",
    "is SO", "is absolutely", "is barely", "is hardly", "is not at all", "looks very", "is just",
    "is kind of", "is sort of", "was extremely", "is totally", "ain't", "is so so",
)  # fmt: skip
ADJECTIVES = (
    "amazing", "great", "good", "bad", "terrible", "awful", "beautiful", "boring", "fun", "cool",
    "nice", "ugly", "perfect", "horrible", "sweet", "sad", "hilarious", "disappointing", "helpful",
    "useless", "fire", "mid", "cringe", "wonderful", "lame", "brilliant", "weird", "fine", "okay",
    "dope", "sick", "trash", "insane", "gorgeous", "annoying", "adorable", "stupid", "clean",
    "scary", "relaxing", "overpriced", "worth it", "underrated", "overrated", "fake", "legit",
)  # fmt: skip
FEELINGS = (
    "love", "hate", "like", "adore", "can't stand", "don't like", "really enjoy", "miss", "need",
    "never liked", "am obsessed with", "am so done with", "kinda like", "do not trust",
)  # fmt: skip
OBJECTS = (
    "this channel", "your content", "these videos", "the new series", "this song", "the edits",
    "how you explain things", "the giveaways", "the sponsor segments", "the comments section",
    "your energy", "this trend", "the merch",
)  # fmt: skip
FILLERS = (
    "can't wait for the next one", "where did you get that", "please do a tutorial",
    "first time here", "been following since day one", "who else is watching at 3am",
    "my mom would love this", "no way", "this made my day", "i'm crying",
    "sending this to my sister",
    "subscribed", "algorithm brought me here", "what camera do you use", "link please",
    "at least it's not boring", "without doubt the best one yet", "yeah right", "to die for",
    "the shit", "kiss of death for the channel", "not bad at all", "never so good",
    "no love for the editor", "nothing special", "kind of a mess", "not the worst",
    "the best part is the end", "you deserve more views", "unsubscribing", "report this",
    "absolute scam", "total waste of time", "so proud of you", "happy birthday", "rip",
)  # fmt: skip
EMOJI = (
    "😍", "😂", "🔥", "👏", "❤️", "😭", "🙏", "💯", "😡", "👎", "👍", "🤔", "😢", "😎", "🥰", "🙄",
    "💀", "✨", "🎉", "😅", "🤮", "😤", "🥺", "😱", "💔", "🫶", "🤡", "👀", "🙌", "😴",
)  # fmt: skip
EMOTICONS = (":)", ":(", ":D", "<3", ";)", ":/", ":P", "xD", ":'(", "=)")
ENDINGS = ("", "", "", ".", "!", "!!", "!!!", "?", "??", "...", "?!", "!!!!!")
HASHTAGS = ("#fyp", "#tbt", "#ootd", "#foodie", "#gym", "#travel", "#diy", "#viral", "#new")


class TextGen:
    """Comment and caption text: short sentences glued into 20-300 characters."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def _sentence(self) -> str:
        rng = self._rng
        roll = rng.random()
        if roll < 0.45:
            adj = rng.choice(ADJECTIVES)
            if rng.random() < 0.08:
                adj = adj.upper()
            s = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {adj}"
            if rng.random() < 0.15:
                s += f" but {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(ADJECTIVES)}"
        elif roll < 0.7:
            s = f"I {rng.choice(FEELINGS)} {rng.choice(OBJECTS)}"
        elif roll < 0.9:
            s = rng.choice(FILLERS)
        else:
            s = f"@{rng.choice(('fan', 'user', 'the_real_', 'x'))}{rng.randrange(100_000)}"
            s += f" {rng.choice(FILLERS)}"
        opener = rng.choice(OPENERS)
        if opener:
            s = f"{opener} {s}"
        if rng.random() < 0.05:
            s = s.upper()
        elif rng.random() < 0.5:
            s = s[0].upper() + s[1:]
        r = rng.random()
        if r < 0.25:
            s += " " + "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 3)))
        elif r < 0.35:
            s += rng.choice(EMOJI) * rng.randint(1, 3)  # glued to the word, as people type
        elif r < 0.45:
            s += " " + rng.choice(EMOTICONS)
        return s + rng.choice(ENDINGS)

    def text(self, mention: str | None = None, *, caption: bool = False) -> str:
        rng = self._rng
        # log-uniform length between 20 and 300 characters: mostly short, a long tail
        target = int(20 * math.exp(rng.random() * math.log(15)))
        parts: list[str] = []
        size = 0
        mention_at = rng.randrange(3) if mention else -1
        while size - 1 < max(target, 20):
            s = self._sentence()
            if len(parts) == mention_at:
                s = rng.choice(
                    (
                        f"just got my {mention}",
                        f"{mention} sent me this",
                        f"is this {mention}?",
                        f"the {mention} is {rng.choice(ADJECTIVES)}",
                        f"{mention} {rng.choice(FEELINGS)} you",
                    )
                )
            parts.append(s)
            size += len(s) + 1
        if caption:
            parts.append(" ".join(rng.sample(HASHTAGS, rng.randint(1, 3))))
        if mention_at >= len(parts):
            parts.append(f"{mention}!")
        text = " ".join(parts)
        if len(text) > 300:
            cut = text.rfind(" ", 20, 300)
            text = text[: cut if cut > 0 else 300]
            if mention and mention not in text:
                text = f"{mention} {text}"[:300].rstrip()
        return text


# --- brands ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Brand:
    brand_id: str
    name: str
    terms: tuple[str, ...]
    exclude: tuple[str, ...]


def make_brands(seed: int, count: int = 20) -> list[Brand]:
    rng = random.Random(seed * 7919 + 1)
    brands = []
    for name in BRAND_NAMES[:count]:
        n_terms = rng.randint(10, 50)
        terms = [name, f"#{name}", f"@{name}"]
        for product in rng.sample(PRODUCTS, len(PRODUCTS)):
            if len(terms) >= n_terms:
                break
            terms.append(f"{name} {product}" if rng.random() < 0.7 else f"#{name}{product}")
        brands.append(
            Brand(
                brand_id=name,
                name=name.title(),
                terms=tuple(terms[:n_terms]),
                exclude=(f"{name} lawsuit", f"{name} scam"),
            )
        )
    return brands


def rules_toml(brands: list[Brand]) -> str:
    def arr(items: tuple[str, ...]) -> str:
        return "[" + ", ".join(f'"{t}"' for t in items) + "]"

    out = []
    for b in brands:
        out.append(f"[brands.{b.brand_id}]")
        out.append(f'name = "{b.name}"')
        out.append(f"terms = {arr(b.terms)}")
        out.append(f"exclude = {arr(b.exclude)}")
        out.append("")
    return "\n".join(out)


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadSpec:
    events: int = FULL_EVENTS
    seed: int = 20261120
    start: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    comment_mention_rate: float = 0.03
    caption_mention_rate: float = 0.05

    @property
    def creators(self) -> int:
        return max(50, round(self.events * FULL_CREATORS / FULL_EVENTS))

    @property
    def hours(self) -> float:
        return FULL_HOURS * self.events / FULL_EVENTS

    @property
    def start_ms(self) -> int:
        return int(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        return self.start_ms + int(self.hours * HOUR_MS)


@dataclass(slots=True)
class _Creator:
    creator_id: str
    platform: str
    community: str
    followers0: float
    growth_per_hour: float
    posts: list[list[Any]] = field(default_factory=list)  # [post_id, created_ms, l, c, s, text]


@dataclass(frozen=True, slots=True)
class Event:
    topic: str  # contract topic name (no namespace)
    creator_id: str
    t_ms: int
    body: dict[str, Any]

    def value(self) -> bytes:
        return dumps(self.body)


class Generator:
    """Stateful event source; ``take(n, t0, t1)`` yields n events spread over [t0, t1)."""

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.text = TextGen(self.rng)
        self.brands = make_brands(spec.seed)
        self._terms = [t for b in self.brands for t in b.terms]
        rng = self.rng
        self.creators: list[_Creator] = []
        cum = 0.0
        self._cum: list[float] = []
        for i in range(spec.creators):
            platform = PLATFORMS[i % len(PLATFORMS)]
            followers = min(20_000_000.0, 200 * rng.paretovariate(0.8))
            self.creators.append(
                _Creator(
                    creator_id=f"{platform}:c{i:06d}",
                    platform=platform,
                    community=rng.choice(COMMUNITIES),
                    followers0=followers,
                    growth_per_hour=rng.uniform(-0.0002, 0.002),
                )
            )
            cum += rng.paretovariate(1.16)  # heavy tail: ~20% of creators make ~80% of events
            self._cum.append(cum)
        self._seq = 0

    def pick(self) -> _Creator:
        x = self.rng.random() * self._cum[-1]
        return self.creators[bisect.bisect_right(self._cum, x)]

    def mention_term(self, brand_id: str | None = None) -> str:
        if brand_id is None:
            return self.rng.choice(self._terms)
        brand = next(b for b in self.brands if b.brand_id == brand_id)
        return self.rng.choice(brand.terms)

    def followers(self, c: _Creator, t_ms: int) -> int:
        hours = (t_ms - self.spec.start_ms) / HOUR_MS
        return max(0, int(c.followers0 * (1 + c.growth_per_hour * hours)))

    def comment(self, c: _Creator, t_ms: int, text: str) -> Event:
        self._seq += 1
        post_id = c.posts[-1][0] if c.posts else f"{c.creator_id.split(':')[1]}-intro"
        body = {
            "event_id": f"c-{self._seq}",
            "platform": c.platform,
            "comment_id": str(self._seq),
            "post_id": post_id,
            "creator_id": c.creator_id,
            "author_id": f"{c.platform}:fan{self.rng.randrange(1_000_000)}",
            "text": text,
            "created_at": format_time_ms(t_ms),
            "community": c.community,
        }
        return Event(COMMENTS, c.creator_id, t_ms, body)

    def _post(self, c: _Creator, t_ms: int) -> Event:
        rng = self.rng
        self._seq += 1
        if not c.posts or rng.random() < 0.2:
            created = max(self.spec.start_ms, t_ms - rng.randrange(10 * MINUTE_MS)) // 1000 * 1000
            mention = self.mention_term() if rng.random() < self.spec.caption_mention_rate else None
            caption = self.text.text(mention, caption=True)
            c.posts.append([f"{c.creator_id.split(':')[1]}-{self._seq}", created, 0, 0, 0, caption])
            del c.posts[:-5]
        post = c.posts[-1] if rng.random() < 0.6 else rng.choice(c.posts)
        scale = max(1.0, self.followers(c, t_ms) / 2000)
        post[2] += int(rng.expovariate(1 / scale))
        post[3] += int(rng.expovariate(4 / scale))
        post[4] += int(rng.expovariate(10 / scale))
        observed = max(post[1], t_ms // 1000 * 1000)
        body: dict[str, Any] = {
            "event_id": f"p-{self._seq}",
            "platform": c.platform,
            "post_id": post[0],
            "creator_id": c.creator_id,
            "community": c.community,
            "text": post[5],
            "created_at": format_time_ms(post[1]),
            "observed_at": format_time_ms(observed),
            "likes": post[2],
            "comments": post[3],
            "shares": post[4],
            "views": post[2] * 20 + rng.randrange(100),
        }
        if rng.random() < 0.5:
            body["followers"] = self.followers(c, observed)
        return Event(POSTS, c.creator_id, observed, body)

    def _audience(self, c: _Creator, t_ms: int) -> Event:
        self._seq += 1
        observed = t_ms // 1000 * 1000
        body = {
            "event_id": f"a-{self._seq}",
            "platform": c.platform,
            "creator_id": c.creator_id,
            "followers": self.followers(c, observed),
            "observed_at": format_time_ms(observed),
            "community": c.community,
        }
        return Event(AUDIENCE, c.creator_id, observed, body)

    def take(self, n: int, t0: int, t1: int) -> Iterator[Event]:
        """``n`` events with times spread evenly over [t0, t1), jittered by up to 30 s."""
        rng = self.rng
        span = t1 - t0
        mix = list(_MIX)
        for k in range(n):
            if k % len(mix) == 0:
                rng.shuffle(mix)
            kind = mix[k % len(mix)]
            t = t0 + span * k // max(1, n) + rng.randrange(-30_000, 30_000)
            t = min(max(t, t0), t1 - 1)
            c = self.pick()
            if kind == COMMENTS:
                mention = (
                    self.mention_term() if rng.random() < self.spec.comment_mention_rate else None
                )
                yield self.comment(c, t, self.text.text(mention))
            elif kind == POSTS:
                yield self._post(c, t)
            else:
                yield self._audience(c, t)


def generate(spec: WorkloadSpec) -> Iterator[Event]:
    """The whole workload in (roughly) event-time order."""
    return Generator(spec).take(spec.events, spec.start_ms, spec.end_ms)


def encoded(events: Iterator[Event]) -> list[tuple[str, bytes, bytes]]:
    """(contract topic, key, value) records as the producer sends them."""
    return [(e.topic, e.creator_id.encode(), e.value()) for e in events]
