"""The web view over HTTP: a real worker fed through Kafka, then `monitor web` processes.

One worker-fed namespace serves the whole module. Web replicas read it: one open (no
MONITOR_API_TOKEN), one locked (with a token), and one whose Redis is unreachable. Alerts are the
one thing written to Redis directly: the test appends them to the stream as the worker does.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
import pytest
import redis.asyncio as aioredis

from monitor.brands.publish import apply_rules
from monitor.brands.validate import parse_rules_toml
from monitor.kafka.topics import create_topics
from monitor.settings import Settings, load_settings
from monitor.store.client import make_redis
from monitor.store.creators import Tables
from monitor.store.keys import Keys
from monitor.web.app import ROUTES, create_web_app
from tests.conftest import settings_env_for
from tests.dataset import build, ts
from tests.helpers import Proc, env_for, event_records, produce, wait_caught_up, wait_for
from tests.support import free_port

pytestmark = pytest.mark.integration

INPUTS = ("social.posts", "social.comments", "social.audience")
TOKEN = "s3cret-web-token-" + uuid.uuid4().hex
WEBHOOK = "https://hooks.slack.com/services/T000/B000/WEBTESTSECRET"
RULES_TOML = f"""
[brands.acme]
name = "Acme Shoes"
terms = ["acme", "acme shoes", "#acmeshoes", "@acme"]
exclude = ["acme corp lawsuit"]
slack_webhook = "{WEBHOOK}"
watch_creators = ["instagram:alice"]
"""
# Alerts the tests append to the stream use a brand of their own, so alerts the worker's
# detectors may raise on the fed data never mix in.
TEST_BRAND = "zeta-web"
CONTRACT_ROUTES = {
    "/api/creators",
    "/api/creators/{creator_id}",
    "/api/brands",
    "/api/brands/{brand}",
    "/api/alerts",
    "/api/alerts/stream",
    "/healthz",
    "/metrics",
    "/",
}


def _d(**kw: int) -> timedelta:
    return timedelta(**kw)


def brand_events() -> list[tuple[str, dict[str, Any]]]:
    """Mentions of acme: dave's two posts and one comment, one comment on alice's post (4)."""

    def post(pid: str, created: timedelta, text: str) -> dict[str, Any]:
        return {
            "event_id": f"p-dave-{pid}",
            "platform": "youtube",
            "post_id": pid,
            "creator_id": "youtube:dave",
            "community": "running",
            "text": text,
            "created_at": ts(created),
            "observed_at": ts(created + _d(minutes=5)),
            "likes": 50,
            "comments": 3,
            "shares": 1,
        }

    def comment(cid: str, creator: str, pid: str, at: timedelta, text: str) -> dict[str, Any]:
        return {
            "event_id": f"c-{cid}",
            "platform": creator.split(":")[0],
            "comment_id": cid,
            "post_id": pid,
            "creator_id": creator,
            "text": text,
            "created_at": ts(at),
        }

    return [
        (
            "social.audience",
            {
                "event_id": "a-dave-0",
                "platform": "youtube",
                "creator_id": "youtube:dave",
                "followers": 5_000,
                "observed_at": ts(_d(hours=-3)),
                "community": "running",
            },
        ),
        ("social.posts", post("d1", _d(minutes=-50), "New @acme trail shoes review #acmeshoes")),
        ("social.posts", post("d2", _d(minutes=-35), "Acme shoes after 100 km")),
        ("social.posts", post("d3", _d(hours=-3), "an easy recovery run")),
        (
            "social.comments",
            comment(
                "dc1", "youtube:dave", "d1", _d(minutes=-30), "where can I get the acme shoes?"
            ),
        ),
        (
            "social.comments",
            comment("dc2", "youtube:dave", "d1", _d(minutes=-25), "acme corp lawsuit again"),
        ),
        (
            "social.comments",
            comment("ac1", "instagram:alice", "p1", _d(minutes=-15), "my @acme pair arrived!"),
        ),
    ]


def alert_doc(n: int, *, type_: str = "mention_spike", status: str = "firing") -> dict[str, Any]:
    return {
        "alert_id": f"{type_}:{TEST_BRAND}:{n}",
        "type": type_,
        "status": status,
        "severity": "warning",
        "brand": TEST_BRAND,
        "creator_id": None,
        "community": None,
        "window": "15m",
        "value": 40 + n,
        "baseline": 6.1,
        "score": 1e-9,
        "threshold": 1e-4,
        "event_time": "2026-11-20T11:45:00Z",
        "detected_at": "2026-11-20T11:45:03Z",
        "summary": f"Zeta: {40 + n} mentions in 15 min (test alert {n})",
        "evidence": {},
    }


async def add_alert(redis: aioredis.Redis, settings: Settings, alert: dict[str, Any]) -> str:
    """Append an alert to the stream the way the worker does."""
    entry_id = await redis.xadd(
        Keys(settings.redis_prefix).alerts_stream,
        {"alert": orjson.dumps(alert)},
        maxlen=10_000,
        approximate=True,
    )
    return str(entry_id)


@dataclass
class Served:
    settings: Settings
    redis: aioredis.Redis
    tables: Tables
    open_url: str
    locked_url: str
    down_url: str
    procs: dict[str, Proc]


async def start_web(
    env: dict[str, str], log: Path, *extra: str, wait: bool = True
) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(["web", "--port", str(port), *extra], env_for(env), log)
    url = f"http://127.0.0.1:{port}"

    async def up() -> bool:
        if proc.popen.poll() is not None:
            raise AssertionError(f"monitor web exited:\n{proc.output()}")
        try:
            async with (
                aiohttp.ClientSession() as s,
                s.get(f"{url}/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r,
            ):
                return r.status == 200
        except aiohttp.ClientError:
            return False

    if wait:
        await wait_for(up, timeout=30, interval=0.2, what=f"monitor web on {url}")
    return proc, url


async def feed_and_serve(tmp: Path, env: dict[str, str]) -> AsyncIterator[Served]:
    """Feed the dataset and the acme mentions through Kafka to a real worker, then serve it."""
    settings = load_settings(environ=env)
    redis = make_redis(settings)
    procs: dict[str, Proc] = {}
    try:
        await create_topics(settings)
        await apply_rules(settings, parse_rules_toml(RULES_TOML))
        ds = build()
        await produce(settings, event_records(ds.valid_events()))
        procs["worker"] = Proc(["worker"], env_for(env), tmp / "worker.log")
        await wait_caught_up(redis, settings, INPUTS, timeout=120)
        keys = Keys(settings.redis_prefix)

        async def rules_mirrored() -> bool:
            return bool(await redis.hexists(keys.rules, "acme"))

        await wait_for(rules_mirrored, timeout=30, what="the worker to mirror the rules")
        await produce(settings, event_records(brand_events()))
        await wait_caught_up(redis, settings, INPUTS, timeout=60)
        procs["open"], open_url = await start_web(env, tmp / "web-open.log", "--keepalive-s", "1")
        procs["locked"], locked_url = await start_web(
            {**env, "MONITOR_API_TOKEN": TOKEN}, tmp / "web-locked.log"
        )
        # A replica whose Redis is unreachable: every table read must answer 503, not hang.
        procs["down"], down_url = await start_web(
            {**env, "MONITOR_REDIS": "redis://127.0.0.1:1/0", "MONITOR_REDIS_TIMEOUT_S": "1"},
            tmp / "web-down.log",
        )
        yield Served(
            settings=settings,
            redis=redis,
            tables=Tables(redis, keys, settings),
            open_url=open_url,
            locked_url=locked_url,
            down_url=down_url,
            procs=procs,
        )
    finally:
        for proc in procs.values():
            proc.stop()
        async for key in redis.scan_iter(match=f"{settings.namespace}*", count=1000):
            await redis.delete(key)
        await redis.aclose()


@pytest.fixture(scope="module")
async def served(services: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    env = settings_env_for(f"t{uuid.uuid4().hex[:10]}.")
    async for s in feed_and_serve(tmp_path_factory.mktemp("web"), env):
        yield s


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        yield session


async def get_json(
    http: aiohttp.ClientSession, url: str, *, status: int = 200, token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as r:
        body = await r.read()
        assert r.status == status, (url, r.status, body[:500])
        assert r.content_type == "application/json", (url, r.content_type)
        return orjson.loads(body)


def ids(docs: list[dict[str, Any]]) -> list[str]:
    return [d["creator_id"] for d in docs]


# --- creators -----------------------------------------------------------------------------------
async def test_leaderboard_follows_the_fed_data(
    served: Served, http: aiohttp.ClientSession
) -> None:
    base = f"{served.open_url}/api/creators"
    by_followers = await get_json(http, f"{base}?sort=followers&limit=10")
    assert ids(by_followers) == ["youtube:carol", "instagram:alice", "youtube:dave", "tiktok:bob"]
    assert by_followers == await served.tables.top_creators(sort="followers", limit=10)
    assert ids(await get_json(http, f"{base}?sort=followers&limit=2")) == ids(by_followers)[:2]
    micro = await get_json(http, f"{base}?sort=followers&tier=micro")
    assert ids(micro) == ["instagram:alice", "youtube:dave"]
    assert ids(await get_json(http, f"{base}?sort=comments_24h&community=gaming")) == ["tiktok:bob"]
    both = await get_json(http, f"{base}?sort=followers&tier=micro&community=vegan-cooking")
    assert ids(both) == ["instagram:alice"]
    assert await get_json(http, f"{base}?tier=mega") == []
    # the default sort is growth_24h_pct; creators without a 24 h old snapshot have no value
    default = await get_json(http, f"{base}?tier=&community=&sort=")
    assert default == await served.tables.top_creators()
    assert ids(default) == ["instagram:alice", "tiktok:bob"]  # +13.2 % and +12.5 %


async def test_creator_detail_and_unknown_creators(
    served: Served, http: aiohttp.ClientSession
) -> None:
    base = f"{served.open_url}/api/creators"
    alice = await get_json(http, f"{base}/instagram:alice")
    assert alice == await served.tables.creator_detail("instagram:alice")
    assert (alice["followers"], alice["tier"], alice["growth_24h"]) == (12_000, "micro", 1_400)
    assert alice["mentions_24h"] == {"acme": 1}
    assert [p["followers"] for p in alice["series"]["followers"]][-1] == 12_000
    assert len(alice["series"]["hourly"]) == 7 * 24
    assert await get_json(http, f"{base}/{quote('instagram:alice', safe='')}") == alice
    for unknown in ("nobody:x", "instagram:*", "*", "[a-z]*", "instagram:alic?", "x{y}"):
        err = await get_json(http, f"{base}/{quote(unknown, safe='')}", status=404)
        assert err["error"] == "not_found", unknown


# --- brands -------------------------------------------------------------------------------------
async def test_brands_listing_and_detail(served: Served, http: aiohttp.ClientSession) -> None:
    brands = await get_json(http, f"{served.open_url}/api/brands")
    acme = next(b for b in brands if b["brand"] == "acme")
    assert acme["name"] == "Acme Shoes"
    assert acme["configured"] is True
    assert acme["window_min"] == 15
    assert acme["mentions"] == 1  # alice's comment at 11:45; the window is 11:41..11:55
    assert "baseline" in acme  # null until the detector has learnt one

    doc = await get_json(http, f"{served.open_url}/api/brands/acme")
    assert doc["mentions"] == 1
    assert doc["mentions_24h"] == 4  # "acme corp lawsuit" is excluded
    assert len(doc["timeline"]) == 96
    assert sum(b["mentions"] for b in doc["timeline"]) == 4
    assert doc["timeline"][-1]["mentions"] == doc["mentions"]
    starts = [b["t_ms"] for b in doc["timeline"]]
    assert starts == sorted(starts)
    assert all(b - a == 15 * 60_000 for a, b in itertools.pairwise(starts))
    assert doc["top_creators"] == [
        {"creator_id": "youtube:dave", "mentions": 3},
        {"creator_id": "instagram:alice", "mentions": 1},
    ]
    texts = [e["text"] for e in doc["evidence"]]
    assert texts[0] == "my @acme pair arrived!"
    assert len(texts) == 4
    assert doc["rule"]["terms"] == ["acme", "acme shoes", "#acmeshoes", "@acme"]
    assert doc["rule"].get("slack_webhook") in (None, "***")
    err = await get_json(http, f"{served.open_url}/api/brands/nosuch", status=404)
    assert err["error"] == "not_found"


# --- alerts -------------------------------------------------------------------------------------
async def test_alerts_newest_first_with_filters(
    served: Served, http: aiohttp.ClientSession
) -> None:
    added = [
        await add_alert(served.redis, served.settings, alert_doc(100 + i, status=s, type_=t))
        for i, (t, s) in enumerate(
            [
                ("mention_spike", "firing"),
                ("sentiment_shift", "firing"),
                ("mention_spike", "resolved"),
            ]
        )
    ]
    base = f"{served.open_url}/api/alerts"
    async with http.get(f"{base}?brand={TEST_BRAND}") as r:
        assert r.status == 200
        mine = orjson.loads(await r.read())
        newest = r.headers["X-Last-Event-ID"]
    assert newest >= added[-1]
    assert [a["alert_id"] for a in mine[:3]] == [
        f"mention_spike:{TEST_BRAND}:102",
        f"sentiment_shift:{TEST_BRAND}:101",
        f"mention_spike:{TEST_BRAND}:100",
    ]
    assert mine[0] == alert_doc(102, status="resolved")
    spikes = await get_json(http, f"{base}?brand={TEST_BRAND}&type=mention_spike&status=firing")
    assert [a["alert_id"] for a in spikes] == [f"mention_spike:{TEST_BRAND}:100"]
    one = await get_json(http, f"{base}?brand={TEST_BRAND}&limit=1")
    assert [a["alert_id"] for a in one] == [f"mention_spike:{TEST_BRAND}:102"]
    assert await get_json(http, f"{base}?brand=nobody-here") == []


class SSEReader:
    """Reads server-sent events: (id, data) pairs and comment lines, as a browser would."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.comments: list[str] = []

    async def next_event(self, timeout: float = 5) -> tuple[str | None, dict[str, Any]]:
        event_id: str | None = None
        data: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:  # a comment line can arrive just at the deadline
                raise TimeoutError("no event in time")
            raw = await asyncio.wait_for(self.resp.content.readline(), left)
            assert raw, "stream ended"
            line = raw.decode().rstrip("\n")
            if line == "":
                if data:
                    return event_id, orjson.loads("\n".join(data))
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "":
                self.comments.append(value)
            elif name == "id":
                event_id = value
            elif name == "data":
                data.append(value)


async def test_alert_stream_resumes_with_last_event_id(
    served: Served, http: aiohttp.ClientSession
) -> None:
    url = f"{served.open_url}/api/alerts/stream?brand={TEST_BRAND}"
    async with http.get(url) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        stream = SSEReader(r)
        first_id = await add_alert(served.redis, served.settings, alert_doc(1))
        got_id, got = await stream.next_event()
        assert (got_id, got) == (first_id, alert_doc(1))
    # disconnected: two alerts arrive meanwhile (and one for another brand)
    other = {**alert_doc(9), "brand": "someone-else", "alert_id": "x"}
    missed = [
        await add_alert(served.redis, served.settings, alert_doc(2)),
        await add_alert(served.redis, served.settings, other),
        await add_alert(served.redis, served.settings, alert_doc(3)),
    ]
    async with http.get(url, headers={"Last-Event-ID": first_id}) as r:
        stream = SSEReader(r)
        assert await stream.next_event() == (missed[0], alert_doc(2))
        assert await stream.next_event() == (missed[2], alert_doc(3))
        live = await add_alert(served.redis, served.settings, alert_doc(4))
        assert await stream.next_event() == (live, alert_doc(4))
    # the query-string form, for clients that cannot set headers
    async with http.get(f"{url}&last_event_id={missed[0]}") as r:
        assert await SSEReader(r).next_event() == (missed[2], alert_doc(3))


async def test_alert_stream_keepalive_and_release(
    served: Served, http: aiohttp.ClientSession
) -> None:
    async def stream_clients() -> float:
        async with http.get(f"{served.open_url}/metrics") as r:
            text = await r.text()
        line = next(x for x in text.splitlines() if x.startswith("monitor_web_stream_clients "))
        return float(line.split()[1])

    async with http.get(f"{served.open_url}/api/alerts/stream?brand={TEST_BRAND}") as r:
        stream = SSEReader(r)
        started = time.monotonic()
        while "keep-alive" not in stream.comments:
            with pytest.raises(TimeoutError):
                await stream.next_event(timeout=0.5)
            assert time.monotonic() - started < 5, stream.comments
        assert await stream_clients() == 1

    async def released() -> bool:
        return await stream_clients() == 0

    # the client left: the server notices and frees its slot
    await wait_for(released, timeout=10, what="the stream slot release")


# --- errors, auth, docs -------------------------------------------------------------------------
BAD_REQUESTS = [
    ("/api/creators?sort=bogus", "sort"),
    ("/api/creators?tier=giga", "tier"),
    ("/api/creators?limit=0", "limit"),
    ("/api/creators?limit=501", "limit"),
    ("/api/creators?limit=ten", "limit"),
    ("/api/creators?limit=1e3", "limit"),
    ("/api/creators?sort=followers&sort=growth_24h", "sort"),
    ("/api/creators?sortby=followers", "sortby"),
    ("/api/creators?community=" + "g" * 129, "community"),
    ("/api/creators/" + "x" * 257, "creator_id"),
    ("/api/creators/bad%00id", "creator_id"),
    ("/api/brands/Not*A*Brand", "brand"),
    ("/api/brands/acme?x=1", "x"),
    ("/api/alerts?type=meltdown", "type"),
    ("/api/alerts?status=open", "status"),
    ("/api/alerts?limit=-1", "limit"),
    ("/api/alerts?brand=BAD*", "brand"),
    ("/api/alerts/stream?type=meltdown", "type"),
    ("/api/alerts/stream?last_event_id=abc", "last_event_id"),
]


@pytest.mark.parametrize(("path", "parameter"), BAD_REQUESTS)
async def test_bad_parameters_get_400_naming_them(
    served: Served, http: aiohttp.ClientSession, path: str, parameter: str
) -> None:
    err = await get_json(http, served.open_url + path, status=400)
    assert err["error"] == "bad_parameter"
    assert err["parameter"] == parameter
    assert parameter in err["message"]


async def test_malformed_last_event_id_header(served: Served, http: aiohttp.ClientSession) -> None:
    async with http.get(
        f"{served.open_url}/api/alerts/stream", headers={"Last-Event-ID": "1-2-3"}
    ) as r:
        assert r.status == 400
        assert (await r.json())["parameter"] == "Last-Event-ID"


def _api_paths() -> list[str]:
    return [r.example_path() for r in ROUTES if r.needs_token]


async def test_token_guards_every_api_route(served: Served, http: aiohttp.ClientSession) -> None:
    base = served.locked_url
    for path in _api_paths():
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            async with http.get(base + path, headers=headers) as r:
                assert r.status == 401, (path, headers)
                body = await r.json()
                assert body["error"] == "unauthorized"
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
        if path == "/api/alerts/stream":
            continue
        await get_json(http, base + path, token=TOKEN)
    # the query-string token is for the stream only
    await get_json(http, f"{base}/api/creators?access_token={TOKEN}", status=401)
    async with http.get(f"{base}/api/alerts/stream?access_token={TOKEN}") as r:
        assert r.status == 200
    async with http.get(
        f"{base}/api/alerts/stream", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as r:
        assert r.status == 200
    for open_path in ("/healthz", "/metrics", "/", "/static/app.js"):
        async with http.get(base + open_path) as r:
            assert r.status == 200, open_path
    assert "auth ON" in served.procs["locked"].output()
    assert TOKEN not in served.procs["locked"].output()
    out = served.procs["open"].output()
    assert "auth OFF" in out
    assert "MONITOR_API_TOKEN is unset" in out


async def test_openapi_lists_exactly_the_routes_and_each_answers(
    served: Served, http: aiohttp.ClientSession
) -> None:
    doc = await get_json(http, f"{served.locked_url}/api/openapi.json", token=TOKEN)
    documented = {(p, m.upper()) for p, ops in doc["paths"].items() for m in ops}
    app = create_web_app(served.settings, served.redis)
    served_routes = {
        (r.resource.canonical, r.method) for r in app.router.routes() if r.resource is not None
    }
    # the router spells path parameters with a regex; the document with the bare name
    served_routes = {(_bare(p), m) for p, m in served_routes}
    assert documented == served_routes
    assert {p for p, _ in documented} >= CONTRACT_ROUTES
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["responses"]["200"], (path, method)
            if method != "get":  # these need a body or an id: tests/integration/test_silences.py
                continue
            example = next(r for r in ROUTES if r.path == path).example_path()
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with http.request(method, served.locked_url + example, headers=headers) as r:
                assert r.status == 200, (path, r.status)
                expected = next(iter(op["responses"]["200"]["content"]))
                if expected != "application/octet-stream":
                    assert r.content_type == expected, (path, r.content_type)


def _bare(path: str) -> str:
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)


async def test_metrics_and_health(served: Served, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{served.open_url}/metrics") as r:
        assert r.status == 200
        assert r.content_type == "text/plain"
        text = await r.text()
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    wm = await served.tables.watermark()
    assert values["monitor_watermark_ms"] == wm
    assert values["monitor_creators"] == 4
    assert values["monitor_brand_rules"] == 1
    assert values['monitor_worker_stats_total{stat="applied"}'] > 0
    assert any(k.startswith("monitor_partition_watermark_ms{") for k in values)
    assert WEBHOOK not in text
    assert "WEBTESTSECRET" not in text
    health = await get_json(http, f"{served.open_url}/healthz")
    assert health == {"status": "ok", "redis": "ok"}


async def test_redis_down_answers_503_json(served: Served, http: aiohttp.ClientSession) -> None:
    for path in ("/api/creators", "/api/brands", "/api/alerts", "/api/creators/instagram:alice"):
        err = await get_json(http, served.down_url + path, status=503)
        assert err["error"] == "unavailable"
    health = await get_json(http, f"{served.down_url}/healthz")
    assert health == {"status": "ok", "redis": "unreachable"}


async def test_static_files_headers_and_no_traversal(
    served: Served, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{served.open_url}/") as r:
        assert r.status == 200
        assert r.content_type == "text/html"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in r.headers
        html = await r.text()
    for asset in ("app.js", "app.css", "uPlot.iife.min.js", "uPlot.min.css"):
        assert f"/static/{asset}" in html
        async with http.get(f"{served.open_url}/static/{asset}") as r:
            assert r.status == 200, asset
    assert "http://" not in html.replace("http://www.w3.org", "")  # no CDN
    for path in (
        "/static/..%2Fapi.py",
        "/static/%2e%2e%2fapi.py",
        "/static/../app.py",
        "/static/.hidden",
        "/static/nope.js",
        "/static//etc/passwd",
    ):
        async with http.get(served.open_url + path) as r:
            assert r.status == 404, path
            assert "import" not in await r.text()
