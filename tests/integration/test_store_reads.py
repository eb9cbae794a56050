"""The read APIs (store/creators.py, store/brands.py) against Redis, fed through the real apply.

Three creators and three brands, applied with plan_batch and apply_batch.lua, documents written
by the leaderboard's own refresh round; every expected figure is worked out from the events.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import redis.asyncio as aioredis

from monitor.brands.matching import BrandMatcher
from monitor.brands.rules import MASK, BrandRule, rule_public_dict
from monitor.core.units import DAY_MS, HOUR_MS, MINUTE_MS
from monitor.settings import Settings
from monitor.store.apply import TableStore
from monitor.store.brands import BrandTables
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from monitor.store.leaderboard import Leaderboard
from schemas.codec import dumps
from tests.integration.batches import T0, Batches

pytestmark = pytest.mark.integration

MIN = MINUTE_MS
NOW = T0 - 5 * MIN  # 09:55, bob's last comments: the watermark
ALICE, BOB, CAROL = "instagram:alice", "tiktok:bob", "youtube:carol"
RULES = {
    "acme": BrandRule(brand_id="acme", name="Acme Shoes", terms=("acme",)),
    "quiet": BrandRule(brand_id="quiet", name="Quiet Co", terms=("quietco",)),
    "oldco": BrandRule(brand_id="oldco", name="Old Co", terms=("oldco",)),  # not mirrored
}


def _sentiment(text: str) -> int:
    return 5000 if "love" in text else -6000 if "awful" in text else 0


@dataclass(frozen=True, slots=True)
class Fed:
    keys: Keys
    tables: Tables
    brands: BrandTables
    board: Leaderboard
    batches: Batches


@pytest.fixture
async def fed(settings: Settings, redis: aioredis.Redis) -> Fed:
    keys = Keys(settings.redis_prefix)
    store = TableStore(redis, keys, settings)
    b = Batches(store, matcher=BrandMatcher(RULES), sentiment=_sentiment)
    old = T0 - DAY_MS - HOUR_MS  # older than 24 h before the watermark
    await b.apply(
        [
            b.audience(ALICE, old, 10_000, community="vegan"),
            b.audience(ALICE, T0 - 30 * MIN, 11_000, community="vegan"),
            # 96 likes + 3 comments + 1 share: 100 interactions; the post mentions acme at 08:00
            b.post(
                ALICE,
                "a1",
                T0 - 2 * HOUR_MS,
                T0 - HOUR_MS,
                likes=96,
                text="new acme shoes",
                community="vegan",
            ),
            b.comment(ALICE, T0 - 10 * MIN, text="love acme", post_id="a1", community="vegan"),
            b.audience(BOB, old, 200_000, community="gaming"),
            b.audience(BOB, T0 - 20 * MIN, 210_000, community="gaming"),
            *(b.comment(BOB, NOW, text="love it", community="gaming") for _ in range(3)),
            b.comment(BOB, NOW, text="oldco rocks", community="gaming"),
            b.audience(CAROL, T0 - 20 * MIN, 500),
            b.comment(CAROL, T0 - 3 * HOUR_MS, text="acme is awful"),
            b.comment(CAROL, T0 - 30 * MIN, text="acme"),
            b.comment(CAROL, T0 - 12 * MIN, text="awful acme"),
        ]
    )
    tables = Tables(redis, keys, settings)
    board = Leaderboard(redis, keys, settings, tables)
    assert (await board.refresh_due()).complete
    # What the worker mirrors for the web view (agents/housekeeping.py) and the brand detector
    # keeps (monitor/detect/runner.py); oldco's rule is gone, its mentions remain.
    public = {brand: dumps(rule_public_dict(RULES[brand])) for brand in ("acme", "quiet")}
    await redis.hset(keys.rules, mapping=public)  # type: ignore[arg-type]
    detector = {"baseline": "2.0", "window_min": "30", "updated_ms": str(NOW)}
    await redis.hset(keys.brand_state("acme"), mapping=detector)  # type: ignore[arg-type]
    return Fed(keys, tables, BrandTables(redis, keys, tables), board, b)


def _ids(docs: list[dict[str, object]]) -> list[object]:
    return [d["creator_id"] for d in docs]


# --- creators -----------------------------------------------------------------------------------
async def test_listings_filter_sort_and_limit(fed: Fed) -> None:
    top = fed.tables.top_creators
    assert await fed.tables.watermark() == NOW
    assert _ids(await top(sort="followers")) == [BOB, ALICE, CAROL]
    assert _ids(await top(sort="followers", limit=2)) == [BOB, ALICE]
    assert _ids(await top(sort="comments_24h")) == [BOB, CAROL, ALICE]  # 4, 3, 1
    # growth needs a snapshot 24 h old: carol has none, so no value and no place on the board
    assert _ids(await top()) == [ALICE, BOB]  # +10 % and +5 %
    assert _ids(await top(sort="followers", tier="micro")) == [ALICE]
    assert _ids(await top(sort="followers", tier="nano")) == [CAROL]
    assert await top(sort="followers", tier="mega") == []
    assert _ids(await top(sort="followers", community="gaming")) == [BOB]
    assert await top(sort="followers", community="nobody") == []
    with pytest.raises(ValueError, match="unknown sort metric"):
        await top(sort="late")


async def test_listed_documents_are_fresh_metrics_held_up_to_the_refreshed_mark(
    fed: Fed,
) -> None:
    listed = await fed.tables.top_creators(sort="followers")
    assert listed == [await fed.tables.creator(c) for c in (BOB, ALICE, CAROL)]
    assert {d["as_of_ms"] for d in listed} == {NOW}
    # bob comments at 09:59: only bob is due (no window edge passes anyone's data by then); once
    # the round is marked, alice's document, still computed at 09:55, is served as of 09:59
    await fed.batches.apply([fed.batches.comment(BOB, T0 - MIN, community="gaming")])
    done = await fed.board.refresh_due()
    assert (done.creators, done.complete) == (1, True)
    assert (await fed.tables.top_creators(sort="followers"))[1]["as_of_ms"] == NOW
    await fed.board.mark_refreshed(done.progress)
    alice = (await fed.tables.top_creators(sort="followers"))[1]
    assert alice == {**(await fed.tables.creator(ALICE) or {}), "as_of_ms": T0 - MIN}


async def test_one_creators_document_and_series(fed: Fed) -> None:
    alice = await fed.tables.creator_detail(ALICE)
    assert alice is not None
    assert {k: alice[k] for k in ("platform", "community", "followers", "tier")} == {
        "platform": "instagram",
        "community": "vegan",
        "followers": 11_000,
        "tier": "micro",
    }
    assert (alice["growth_24h"], alice["growth_24h_pct"], alice["growth_7d"]) == (1_000, 10.0, None)
    assert (alice["posts_24h"], alice["interactions_24h"], alice["comments_24h"]) == (1, 100, 1)
    assert alice["engagement_rate_24h"] == round(100 / 11_000, 6)
    assert alice["sentiment_24h"] == 0.5
    assert alice["mentions_24h"] == {"acme": 2}  # the post (at its creation) and the comment
    assert alice["series"]["followers"] == [
        {"t_ms": T0 - DAY_MS - HOUR_MS, "followers": 10_000},
        {"t_ms": T0 - 30 * MIN, "followers": 11_000},
    ]
    hourly = alice["series"]["hourly"]
    assert len(hourly) == 7 * 24
    last_hour = {"t_ms": T0 - HOUR_MS, "interactions": 100, "comments": 1, "sentiment": 0.5}
    assert hourly[-1] == last_hour
    assert all(h["interactions"] == h["comments"] == 0 for h in hourly[:-1])
    assert {k: v for k, v in alice.items() if k != "series"} == await fed.tables.creator(ALICE)

    carol = await fed.tables.creator(CAROL)
    assert carol is not None
    assert (carol["tier"], carol["community"], carol["growth_24h"]) == ("nano", None, None)
    assert (carol["sentiment_24h"], carol["sentiment_24h_counts"]) == (
        -0.4,
        {"positive": 0, "neutral": 1, "negative": 2},
    )


async def test_unknown_creators_and_communities_read_as_none(fed: Fed) -> None:
    for unknown in ("nobody:x", "instagram:*", "x{y}"):
        assert await fed.tables.creator(unknown) is None
        assert await fed.tables.creator_detail(unknown) is None
    states = await fed.tables.creator_states(["nobody:x", ALICE], NOW)
    assert [s.known for s in states] == [False, True]
    assert await fed.tables.creator_states([], NOW) == []
    assert await fed.tables.community("nobody") is None
    assert sorted(await fed.tables.all_creator_ids()) == [ALICE, BOB, CAROL]


async def test_community_rolls_up_its_members(fed: Fed) -> None:
    assert sorted(await fed.tables.communities()) == ["gaming", "vegan"]
    gaming = await fed.tables.community("gaming")
    assert gaming is not None
    assert {k: gaming[k] for k in ("creators", "followers", "growth_24h", "growth_24h_pct")} == {
        "creators": 1,
        "followers": 210_000,
        "growth_24h": 10_000,
        "growth_24h_pct": 5.0,
    }
    assert (gaming["comments_24h"], gaming["posts_24h"], gaming["as_of_ms"]) == (4, 0, NOW)
    vegan = await fed.tables.community("vegan")
    assert vegan is not None
    assert (vegan["posts_24h"], vegan["interactions_24h"], vegan["comments_24h"]) == (1, 100, 1)
    assert vegan["engagement_rate_24h"] == round(100 / 11_000, 6)


# --- brands -------------------------------------------------------------------------------------
async def test_brand_timeline_baseline_top_creators_and_evidence(fed: Fed) -> None:
    acme = await fed.brands.brand("acme")
    assert acme is not None
    assert (acme["name"], acme["configured"], acme["as_of_ms"]) == ("Acme Shoes", True, NOW)
    # the detector's 30-minute window up to 09:55: alice 09:50, carol 09:48 (negative) and 09:30
    assert (acme["window_min"], acme["mentions"], acme["negative"]) == (30, 3, 1)
    assert acme["mentions_24h"] == 5
    assert (acme["baseline"], acme["baseline_updated_ms"]) == (2.0, NOW)
    assert acme["band"] == {"low": 0.0, "high": 4.828}  # 2 +- 2 sqrt(2), floored at zero
    assert acme["last_mention_ms"] == T0 - 10 * MIN
    timeline = acme["timeline"]
    assert len(timeline) == 48
    assert timeline[-1]["t_ms"] == T0 - 34 * MIN
    assert timeline[-1]["end_ms"] == NOW + MIN - 1
    busy = {b["t_ms"]: (b["mentions"], b["negative"]) for b in timeline if b["mentions"]}
    assert busy == {T0 - 184 * MIN: (1, 1), T0 - 124 * MIN: (1, 0), T0 - 34 * MIN: (3, 1)}
    assert acme["top_creators"] == [
        {"creator_id": CAROL, "mentions": 3},
        {"creator_id": ALICE, "mentions": 2},
    ]
    evidence = [(e["creator_id"], e["t"], e["kind"]) for e in acme["evidence"]]
    assert evidence == [
        (ALICE, T0 - 10 * MIN, "c"),
        (CAROL, T0 - 12 * MIN, "c"),
        (CAROL, T0 - 30 * MIN, "c"),
        (ALICE, T0 - 2 * HOUR_MS, "p"),
        (CAROL, T0 - 3 * HOUR_MS, "c"),
    ]
    assert acme["evidence"][0]["text"] == "love acme"


async def test_brand_listing_busiest_first(fed: Fed) -> None:
    listed = {b["brand"]: b for b in await fed.brands.brands()}
    assert list(listed) == ["acme", "oldco", "quiet"]
    acme, oldco, quiet = listed.values()
    assert (acme["mentions"], acme["negative"], acme["ratio"]) == (3, 1, 1.5)
    assert acme["band"] == {"low": 0.0, "high": 4.828}
    # no detector state yet: the default 15-minute window (09:41..09:55), no baseline
    assert (oldco["window_min"], oldco["mentions"], oldco["baseline"]) == (15, 1, None)
    assert (oldco["name"], oldco["configured"], oldco["last_mention_ms"]) == ("oldco", False, NOW)
    assert (quiet["name"], quiet["configured"], quiet["mentions"]) == ("Quiet Co", True, 0)
    assert (quiet["last_mention_ms"], quiet["ratio"], quiet["band"]) == (None, None, None)


async def test_unknown_brands_and_brands_with_a_rule_only(fed: Fed) -> None:
    assert await fed.brands.brand("nobody") is None
    assert [await fed.brands.known(b) for b in ("nobody", "quiet", "oldco")] == [False, True, True]
    quiet = await fed.brands.brand("quiet")
    assert quiet is not None
    assert (quiet["mentions_24h"], quiet["top_creators"], quiet["evidence"]) == (0, [], [])
    assert quiet["rule"] == rule_public_dict(RULES["quiet"])


async def test_a_webhook_left_in_the_stored_rule_is_masked_again(
    fed: Fed, redis: aioredis.Redis
) -> None:
    raw = dict(rule_public_dict(RULES["quiet"]), slack_webhook="https://hooks.example/T/B/x")
    await redis.hset(fed.keys.rules, "quiet", dumps(raw))
    quiet = await fed.brands.brand("quiet")
    assert quiet is not None
    assert quiet["rule"]["slack_webhook"] == MASK
