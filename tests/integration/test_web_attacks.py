"""Attacks on the web view over HTTP: traversal, injection, oversize input, crowds of streams, auth.

Everything runs against real `monitor web` processes over a namespace a real worker fed through
Kafka (the fixture of tests/integration/test_web.py). Requests whose exact bytes matter (dot
segments, raw NUL bytes, 100 KB lines) go over a plain socket: an HTTP client would normalise them
before they ever left the test.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import re
import resource
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import orjson
import psutil
import pytest
import redis.asyncio as aioredis

from monitor.settings import Settings, load_settings
from monitor.store.client import make_redis
from monitor.web import api as web_api
from monitor.web import app as web_app
from monitor.web import sse as web_sse
from tests.conftest import settings_env_for
from tests.helpers import Proc, wait_for
from tests.integration.test_web import (
    TEST_BRAND,
    TOKEN,
    Served,
    SSEReader,
    add_alert,
    alert_doc,
    feed_and_serve,
    start_web,
)
from tests.support import OwnRedis

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "monitor" / "web" / "static"
CROWD = 1_000
# RSS after a crowd leaves: CPython's allocator keeps the arenas the crowd needed (measured: peak
# ~+52 MB for 1 000 clients, and RSS stays there, though traced Python memory falls back to within
# 1 MB of the baseline). So: at most this much above the baseline after the first crowd...
RSS_RETAINED_MB = 80.0
# ...and a second, equal crowd reuses that memory: more growth would be a leak (10 KB a client).
RSS_GROWTH_MB = 10.0
REDIS_PORT = 6379


@dataclass
class Site:
    served: Served
    env: dict[str, str]
    tmp: Path


@pytest.fixture(scope="module")
async def site(services: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    env = settings_env_for(f"t{uuid.uuid4().hex[:10]}.")
    tmp = tmp_path_factory.mktemp("attacks")
    async for served in feed_and_serve(tmp, env):
        yield Site(served=served, env=env, tmp=tmp)


def fresh_session(total: float | None = 20.0) -> aiohttp.ClientSession:
    """A session that keeps no idle connection open, so it never skews the server's counts."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True), timeout=aiohttp.ClientTimeout(total=total)
    )


# --- raw HTTP ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def json(self) -> Any:
        assert (self.header("Content-Type") or "").startswith("application/json"), self
        return orjson.loads(self.body)


def _dechunk(body: bytes) -> bytes:
    out, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def raw_get(
    base: str, target: bytes | str, headers: Sequence[tuple[str, str]] = ()
) -> RawResponse:
    """GET with the request target sent byte for byte as given."""
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    if isinstance(target, str):
        target = target.encode()
    head = [b"GET " + target + b" HTTP/1.1", f"Host: {host}:{port}".encode(), b"Connection: close"]
    head += [f"{k}: {v}".encode() for k, v in headers]
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        data = await asyncio.wait_for(reader.read(), 15)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    top, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = top.decode("latin-1").split("\r\n")
    assert status_line.startswith("HTTP/1."), (target[:100], data[:300])
    parsed = [(k.strip(), v.strip()) for k, _, v in (h.partition(":") for h in header_lines)]
    response = RawResponse(int(status_line.split()[1]), parsed, body)
    if (response.header("Transfer-Encoding") or "").lower() == "chunked":
        response = RawResponse(response.status, parsed, _dechunk(body))
    return response


async def healthy(url: str, proc: Proc) -> None:
    assert proc.popen.poll() is None, f"monitor web died:\n{proc.output()[-3000:]}"
    async with fresh_session() as http, http.get(f"{url}/healthz") as r:
        assert r.status == 200
        assert await r.json() == {"status": "ok", "redis": "ok"}


def assert_no_server_errors(proc: Proc) -> None:
    out = proc.output()
    assert "unhandled error" not in out, out[-3000:]
    assert '"status":500' not in out.replace(" ", ""), out[-3000:]


# --- 1. path traversal on static files -----------------------------------------------------------
# What a file outside monitor/web/static would show if it leaked.
LEAK_MARKERS = (b"[project]", b"root:x:", b"root:", b"import ", b"def ", b"class Settings")
TRAVERSALS = [
    "/static/../pyproject.toml",
    "/static/../../pyproject.toml",
    "/static/%2e%2e/%2e%2e/etc/passwd",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static/..%2f..%2fmonitor%2fsettings.py",
    "/static/..%2F..%2F..%2Fpyproject.toml",
    "/static/%2e%2e%2fapi.py",
    "/static/%252e%252e%252f%252e%252e%252fpyproject.toml",  # double-encoded
    "/static/..%252f..%252fpyproject.toml",
    "/static/%25%32%65%25%32%65%25%32%66pyproject.toml",
    "/static/..\\..\\pyproject.toml",
    "/static/..%5c..%5cpyproject.toml",
    "/static/..%5C..%5Cmonitor%5Csettings.py",
    "/static/%c0%ae%c0%ae/%c0%ae%c0%ae/pyproject.toml",  # overlong UTF-8 dots
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/%2Fwork%2Fmain%2Fpyproject.toml",
    f"/static/{quote(str(REPO / 'pyproject.toml'), safe='')}",
    "/static/C:%5cWindows%5cwin.ini",
    "/static/file:%2f%2f%2fetc%2fpasswd",
    "/static/app.js%00",
    "/static/app.js%00.html",
    "/static/%00../../pyproject.toml",
    "/static/app.js/../../pyproject.toml",
    "/static/./../pyproject.toml",
    "/static/.../pyproject.toml",
    "/static/....//....//pyproject.toml",
    "/static/",
    "/static/.",
    "/static/..",
    "/static/__init__.py",
    "/static/../__init__.py",
    "/../pyproject.toml",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/..%2f..%2fetc%2fpasswd",
    "//etc/passwd",
    "/etc/passwd",
    "/pyproject.toml",
    "/monitor/settings.py",
    "/api/../static/../../pyproject.toml",
]


@pytest.mark.parametrize("target", TRAVERSALS)
async def test_static_traversal_never_leaves_the_static_dir(site: Site, target: str) -> None:
    r = await raw_get(site.served.open_url, target)
    assert r.status in (400, 404), (target, r.status, r.body[:200])
    for marker in LEAK_MARKERS:
        assert marker not in r.body, (target, marker)
    if r.status == 404:
        assert r.json()["error"] == "not_found", target


async def test_static_traversal_raw_bytes_and_absolute_forms(site: Site) -> None:
    url, proc = site.served.open_url, site.served.procs["open"]
    shipped = {p.read_bytes() for p in STATIC.iterdir()}
    # The same request with a clean name works, so the refusals above are not the socket's doing.
    ok = await raw_get(url, "/static/app.js")
    assert ok.status == 200
    assert ok.body == (STATIC / "app.js").read_bytes()
    for target in (
        b"/static/app.js\x00../../pyproject.toml",  # a raw NUL byte in the request line
        b"/static/\x00",
        b"/static/..\\..\\..\\etc\\passwd",
        b"/static/\xc0\xae\xc0\xae/pyproject.toml",  # raw overlong UTF-8
        b"/static/\xff\xfe",
        url.encode() + b"/static/../../pyproject.toml",  # absolute-form request target
        url.encode() + b"/../../../etc/passwd",
        b"http://evil.example/../../etc/passwd",
        b"*",
        b"../pyproject.toml",
    ):
        r = await raw_get(url, target)
        assert r.status in (400, 404), (target, r.status, r.body[:200])
        assert r.body not in shipped or r.body == b"", target
        for marker in LEAK_MARKERS:
            assert marker not in r.body, (target, marker)
    assert_no_server_errors(proc)
    await healthy(url, proc)


# --- 2. injection characters in ids, and no KEYS/SCAN from the web process ----------------------
# Ids of at most 256 characters without control characters are looked up exactly: 404.
NOT_FOUND_CREATORS = [
    "*",
    "?",
    "[",
    "]",
    "{",
    "}",
    "\\",
    "%00",
    "%",
    "'",
    '"',
    ";",
    "instagram:*",
    "instagram:alic?",
    "instagram:[a-z]lice",
    "instagram:al[^x]ce",
    "instagram:{alice}",
    "{instagram:alice}",
    "instagram:alice}:meta",
    "instagram:alice*",
    "instagram:alice\\",
    "\\*",
    "*:*",
    "x" * 256,
    "ä" * 256,
    "instagram:ålice",
    "instagram:alice\u202e",  # right-to-left override
    "instagram:a\u0301lice",  # combining accent
    "💥",
    "instagram: alice",
    " ",
    " instagram:alice",
    "instagram:alice ",
    "..",
    "a b c",
    "$(id)",
    "<script>alert(1)</script>",
    "KEYS *",
    "instagram:alice\r\nFLUSHALL",  # control characters: refused before Redis (400)
]
# Refused before Redis: control characters, more than 256 characters.
BAD_CREATORS = ["\x00", "a\x00b", "\t", "\n", "\x7f", "x" * 257, "💥" * 300, "y" * 4_000]
NOT_FOUND_BRANDS = ["nosuch", "a" * 64, "acme-", "0"]
BAD_BRANDS = [
    "*",
    "?",
    "[",
    "]",
    "{",
    "}",
    "\\",
    "%00",
    "acme*",
    "acm?",
    "acm[e]",
    "{acme}",
    "ACME",
    "acme ",
    " ",
    "ä",
    "💥",
    "a" * 65,
    "a" * 5_000,
    "\x00",
    "acme\x00",
    "-acme",
    "acme:x",
]


@dataclass
class CommandLog:
    """Every command Redis executes while it runs (MONITOR), with who sent it."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def sent_by(self, ports: set[str]) -> list[str]:
        """Commands from these client ports, including those their Lua scripts ran."""
        out, theirs = [], False
        for e in self.entries:
            if e["client_type"] != "lua":
                theirs = e["client_port"] in ports
            if theirs:
                out.append(str(e["command"]))
        return out


@contextlib.asynccontextmanager
async def redis_monitor(redis: aioredis.Redis, settings: Settings) -> AsyncIterator[CommandLog]:
    log = CommandLog()
    marker = uuid.uuid4().hex
    client = make_redis(settings)  # MONITOR takes a connection over for good
    seen = {"start": asyncio.Event(), "end": asyncio.Event()}

    async def read(monitor: Any) -> None:
        while True:
            entry = await monitor.next_command()
            command = str(entry["command"])
            if marker in command:
                seen["end" if seen["start"].is_set() else "start"].set()
            elif seen["start"].is_set():
                log.entries.append(entry)

    try:
        async with client.monitor() as monitor:
            reader = asyncio.create_task(read(monitor))
            await redis.echo(f"start-{marker}")
            await asyncio.wait_for(seen["start"].wait(), 10)
            try:
                yield log
            finally:
                await redis.echo(f"end-{marker}")
                await asyncio.wait_for(seen["end"].wait(), 30)
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
    finally:
        await client.aclose(close_connection_pool=True)


def redis_ports(pid: int) -> set[str]:
    """Local ports of a process's connections to Redis (as MONITOR and CLIENT LIST show them)."""
    return {
        str(c.laddr.port)
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == REDIS_PORT
    }


PATTERN_COMMANDS = {"KEYS", "SCAN", "HSCAN", "SSCAN", "ZSCAN"}


async def test_injection_characters_in_ids(site: Site) -> None:
    served = site.served
    url, proc = served.open_url, served.procs["open"]
    pid = proc.popen.pid
    ports_before = redis_ports(pid)
    async with fresh_session() as http, redis_monitor(served.redis, served.settings) as log:

        async def expect(path: str, status: int, error: str) -> None:
            async with http.get(url + path) as r:
                body = await r.read()
                assert r.status == status, (path[:120], r.status, body[:300])
                assert r.content_type == "application/json", path[:120]
                assert orjson.loads(body)["error"] == error, path[:120]

        # the controls: a real creator and brand answer, so 404s below mean "looked up, not found"
        async with http.get(f"{url}/api/creators/{quote('instagram:alice', safe='')}") as r:
            assert r.status == 200
            assert (await r.json())["creator_id"] == "instagram:alice"
        async with http.get(f"{url}/api/brands/acme") as r:
            assert r.status == 200
        for creator in NOT_FOUND_CREATORS:
            status = 400 if re.search(r"[\x00-\x1f\x7f]", creator) else 404
            error = "bad_parameter" if status == 400 else "not_found"
            await expect(f"/api/creators/{quote(creator, safe='')}", status, error)
        for creator in BAD_CREATORS:
            await expect(f"/api/creators/{quote(creator, safe='')}", 400, "bad_parameter")
        for brand in NOT_FOUND_BRANDS:
            await expect(f"/api/brands/{quote(brand, safe='')}", 404, "not_found")
        for brand in BAD_BRANDS:
            await expect(f"/api/brands/{quote(brand, safe='')}", 400, "bad_parameter")
        # query values become exact key parts too: a pattern matches nothing
        for community in ("*", "[a-z]*", "{gaming}", "gaming*", "gam?ng", "\\*"):
            async with http.get(f"{url}/api/creators", params={"community": community}) as r:
                assert r.status == 200, community
                assert await r.json() == [], community
        for path in ("/api/alerts?brand=*", "/api/alerts?brand=a%2A", "/api/alerts/stream?brand=*"):
            await expect(path, 400, "bad_parameter")
        # a 20 000-character id cannot even be a request line: the HTTP parser refuses it
        raw = await raw_get(url, "/api/creators/" + "x" * 20_000)
        assert raw.status in (400, 414), raw.status
        ports = ports_before | redis_ports(pid)
    web_commands = log.sent_by(ports)
    names = [c.split(" ", 1)[0].upper() for c in web_commands]
    assert web_commands, "MONITOR saw nothing from the web process: the filter is wrong"
    assert not PATTERN_COMMANDS & set(names), [
        c for c in web_commands if c.split(" ", 1)[0].upper() in PATTERN_COMMANDS
    ]
    # every id reached Redis as an exact key part, the wildcards included
    assert any("c:{instagram:*}" in c for c in web_commands), web_commands[:20]
    assert_no_server_errors(proc)
    await healthy(url, proc)


# --- 3. oversize query strings and headers -------------------------------------------------------
OVERSIZE: list[tuple[str, str | bytes, list[tuple[str, str]]]] = [
    ("100 KB query", "/api/creators?community=" + "g" * 100_000, []),
    ("100 KB query of many params", "/api/creators?" + "&".join(["a=1"] * 25_000), []),
    ("100 KB path", "/api/creators/" + "x" * 100_000, []),
    ("100 KB static path", "/static/" + "../" * 33_000 + "etc/passwd", []),
    ("100 KB header", "/healthz", [("X-Big", "h" * 100_000)]),
    ("100 KB Authorization", "/api/creators", [("Authorization", "Bearer " + "t" * 100_000)]),
    ("100 KB Last-Event-ID", "/api/alerts/stream", [("Last-Event-ID", "1" * 100_000)]),
    ("100 KB cookie", "/", [("Cookie", "c=" + "k" * 100_000)]),
    ("1 000 headers of 100 B", "/healthz", [(f"X-H{i}", "v" * 100) for i in range(1_000)]),
]


@pytest.mark.parametrize(("what", "target", "headers"), OVERSIZE, ids=[o[0] for o in OVERSIZE])
async def test_oversize_requests_are_refused(
    site: Site, what: str, target: str | bytes, headers: list[tuple[str, str]]
) -> None:
    url, proc = site.served.open_url, site.served.procs["open"]
    r = await raw_get(url, target, headers)
    assert r.status in (400, 413, 414, 431), (what, r.status, r.body[:200])
    await healthy(url, proc)


async def test_long_but_parseable_values_get_json_400(site: Site) -> None:
    url, proc = site.served.open_url, site.served.procs["open"]
    async with fresh_session() as http:
        for path, parameter in (
            ("/api/creators?community=" + "g" * 7_000, "community"),
            ("/api/creators/" + "x" * 7_000, "creator_id"),
            ("/api/alerts/stream?last_event_id=" + "1" * 7_000, "last_event_id"),
            ("/api/alerts/stream?access_token=" + "t" * 7_000, "access_token"),
        ):
            async with http.get(url + path) as r:
                assert r.status == 400, path[:80]
                body = await r.json()
                assert body["parameter"] == parameter
                assert len(await r.read()) < 1_000  # the value is not echoed back
        long_id = {"Last-Event-ID": "9" * 5_000}
        async with http.get(f"{url}/api/alerts/stream", headers=long_id) as r:
            assert r.status == 400
            assert (await r.json())["parameter"] == "Last-Event-ID"
    assert_no_server_errors(proc)
    await healthy(url, proc)


# --- 4. a crowd of live-stream clients connecting and leaving ------------------------------------
@dataclass(frozen=True, slots=True)
class Footprint:
    rss_mb: float
    fds: int
    tcp: int
    redis_addrs: frozenset[str]  # this process's connections to Redis, as ip:port

    @property
    def counts(self) -> tuple[int, int, int]:
        # counts, not addresses: the shared pool may have replaced a connection meanwhile
        return self.tcp, self.fds, len(self.redis_addrs)


def footprint(pid: int) -> Footprint:
    p = psutil.Process(pid)
    conns = p.net_connections(kind="tcp")
    return Footprint(
        rss_mb=p.memory_info().rss / 2**20,
        fds=p.num_fds(),
        tcp=len(conns),
        redis_addrs=frozenset(
            f"{c.laddr.ip}:{c.laddr.port}" for c in conns if c.raddr and c.raddr.port == REDIS_PORT
        ),
    )


async def stream_clients(url: str) -> float:
    async with fresh_session() as http, http.get(f"{url}/metrics") as r:
        text = await r.text()
    line = next(x for x in text.splitlines() if x.startswith("monitor_web_stream_clients "))
    return float(line.split()[1])


async def open_stream(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientResponse:
    """A live-stream client, returned once the server has said it is connected."""
    r = await session.get(url)
    assert r.status == 200, (r.status, await r.text())
    while (line := await asyncio.wait_for(r.content.readline(), 30)) != b": connected\n":
        assert line, "stream ended before it said connected"
    return r


async def redis_client_addrs(redis: aioredis.Redis) -> set[str]:
    return {str(c["addr"]) for c in await redis.client_list()}


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        pytest.fail(f"RLIMIT_NOFILE hard limit {hard} < {needed}: raise it (ulimit -Hn)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def crowd_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0, force_close=True),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=60, sock_read=None),
    )


@pytest.mark.slow
async def test_a_thousand_stream_clients_come_and_go(site: Site) -> None:
    served = site.served
    # the client and the server (which inherits the limit) each hold ~1 000 sockets, plus Redis's
    raise_fd_limit(4 * CROWD)
    proc, url = await start_web(
        site.env, site.tmp / "web-crowd.log", "--max-stream-clients", str(CROWD)
    )
    pid = proc.popen.pid
    stream_url = f"{url}/api/alerts/stream?brand={TEST_BRAND}"
    numbers: dict[str, Any] = {}

    async def settled(base: Footprint | None = None) -> Footprint | None:
        """The process's footprint once no stream is open (and, given a base, it is back to it)."""
        now = footprint(pid)
        if base and now.counts != base.counts:
            return None
        return now if await stream_clients(url) == 0 else None

    async def crowd_comes(session: aiohttp.ClientSession) -> list[aiohttp.ClientResponse]:
        started = time.monotonic()
        clients = await asyncio.gather(*(open_stream(session, stream_url) for _ in range(CROWD)))
        numbers.setdefault("connect_all_s", []).append(round(time.monotonic() - started, 2))
        assert await stream_clients(url) == CROWD
        return clients

    async def crowd_leaves(clients: list[aiohttp.ClientResponse], base: Footprint) -> Footprint:
        for c in clients:
            c.close()
        left = time.monotonic()
        await wait_for(lambda: settled(base), timeout=90, what="the crowd's sockets to close")
        numbers.setdefault("release_s", []).append(round(time.monotonic() - left, 2))
        await asyncio.sleep(1)
        return footprint(pid)

    try:
        # Warm up every path once (imports, first allocations), then settle: that is the baseline.
        async with fresh_session() as http:
            async with http.get(f"{url}/api/creators") as r:
                assert r.status == 200
            (await open_stream(http, stream_url)).close()
        base: Footprint = await wait_for(settled, timeout=20, what="the warm-up stream to end")
        numbers["rss_before_mb"] = round(base.rss_mb, 1)

        async with crowd_session() as crowd:
            clients = await crowd_comes(crowd)
            peak = footprint(pid)
            numbers["rss_peak_mb"] = round(peak.rss_mb, 1)
            numbers["tcp_peak"] = peak.tcp
            numbers["redis_conns_peak"] = len(peak.redis_addrs)
            # each stream reads through its own connection, not the shared pool's (capped at 100)
            assert len(peak.redis_addrs) >= CROWD

            # one more is refused clearly, and the rest of the API keeps answering
            async with fresh_session() as http:
                async with http.get(stream_url) as r:
                    assert r.status == 503
                    assert r.content_type == "application/json"
                    assert (await r.json())["error"] == "too_many_clients"
                    assert r.headers["Retry-After"] == "5"
                async with http.get(f"{url}/api/creators?sort=followers") as r:
                    assert r.status == 200, await r.text()
                    assert len(await r.json()) == 4
                async with http.get(f"{url}/healthz") as r:
                    assert await r.json() == {"status": "ok", "redis": "ok"}

            # every client gets a new alert
            alert = alert_doc(7_001)
            started = time.monotonic()
            entry_id = await add_alert(served.redis, served.settings, alert)
            got = await asyncio.gather(*(SSEReader(c).next_event(timeout=30) for c in clients))
            numbers["deliver_all_s"] = round(time.monotonic() - started, 2)
            assert got == [(entry_id, alert)] * CROWD
            after = await crowd_leaves(clients, base)

        numbers["tcp_before_after"] = (base.tcp, after.tcp)
        numbers["redis_conns_before_after"] = (len(base.redis_addrs), len(after.redis_addrs))
        numbers["fds_before_after"] = (base.fds, after.fds)
        numbers["rss_after_mb"] = round(after.rss_mb, 1)
        # Redis agrees: none of the crowd's connections is still open on its side
        still_open = (peak.redis_addrs - base.redis_addrs) & await redis_client_addrs(served.redis)
        assert not still_open, f"{len(still_open)} Redis connections of the crowd still open"
        assert after.rss_mb - base.rss_mb < RSS_RETAINED_MB, numbers

        # a second crowd fits (every slot was given back) and costs no new memory
        async with crowd_session() as crowd:
            again = await crowd_leaves(await crowd_comes(crowd), base)
        numbers["rss_after_second_crowd_mb"] = round(again.rss_mb, 1)
        assert again.rss_mb - after.rss_mb < RSS_GROWTH_MB, numbers

        # the server is healthy and a new client works
        await healthy(url, proc)
        async with fresh_session(total=None) as http:
            client = await open_stream(http, stream_url)
            entry_id = await add_alert(served.redis, served.settings, alert_doc(7_002))
            assert await SSEReader(client).next_event(timeout=10) == (entry_id, alert_doc(7_002))
            client.close()
        assert_no_server_errors(proc)
    finally:
        print(f"\n{CROWD} stream clients: {numbers}")  # the report quotes these
        proc.stop()


async def test_clients_leaving_before_the_headers_cost_nothing(site: Site) -> None:
    """Clients that hang up right after asking: no error logged, no stream slot kept."""
    url, proc = site.served.open_url, site.served.procs["open"]
    host, port = "127.0.0.1", urlsplit(url).port
    request = (
        f"GET /api/alerts/stream?brand={TEST_BRAND} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
    ).encode()

    async def ask_and_leave() -> None:
        _, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    await asyncio.gather(*(ask_and_leave() for _ in range(100)))

    async def all_gone() -> bool:
        return await stream_clients(url) == 0

    await wait_for(all_gone, timeout=20, what="the stream slots to be given back")
    assert_no_server_errors(proc)
    await healthy(url, proc)


# --- 5. authentication ---------------------------------------------------------------------------
GUESS = "wrong-guess-" + uuid.uuid4().hex
BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer "},
    {"Authorization": "Bearer  "},
    {"Authorization": f"Bearer {GUESS}"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": f"Token {TOKEN}"},
    {"Authorization": f"Digest {TOKEN}"},
    {"Authorization": TOKEN},
    {"Authorization": f"Bearer{TOKEN}"},
    {"Authorization": f"Bearer {TOKEN[:-1]}"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Bearer {TOKEN.upper()}"},
    {"Authorization": f"Bearer {TOKEN[: len(TOKEN) // 2]}"},
    {"Authorization": f"Bearer {TOKEN} {TOKEN}"},
    {"X-Api-Token": TOKEN},
    {"X-Access-Token": TOKEN},
    {"Cookie": f"access_token={TOKEN}; token={TOKEN}"},
]


def api_paths() -> list[str]:
    return [
        *(r.example_path() for r in web_app.ROUTES if r.needs_token),
        "/api/creators/instagram:alice",
        "/api/nope",
        "/api/",
    ]


@dataclass
class Seen:
    """Every response of a test, to scan for secrets and cookies."""

    responses: list[tuple[str, int, list[tuple[str, str]], bytes]] = field(default_factory=list)

    async def get(
        self, http: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        async with http.get(url, headers=headers or {}) as r:
            if r.headers.get("Content-Type", "").startswith("text/event-stream"):
                body = await asyncio.wait_for(r.content.readline(), 10)
            else:
                body = await r.read()
            self.responses.append((url, r.status, list(r.headers.items()), body))
            return r.status, body

    def add_raw(self, target: str, r: RawResponse) -> None:
        self.responses.append((target, r.status, r.headers, r.body))

    def assert_clean(self, *secrets: str) -> None:
        for url, _, headers, body in self.responses:
            text = body + b"".join(f"{k}: {v}\n".encode() for k, v in headers)
            for secret in secrets:
                assert secret.encode() not in text, (url, secret[:12])
            for name, value in headers:
                if name.lower() == "set-cookie":
                    attrs = value.lower()
                    assert "httponly" in attrs, (url, value)
                    assert "samesite" in attrs, (url, value)


async def test_token_guards_every_api_route_and_never_leaks(site: Site) -> None:
    served = site.served
    url, proc = served.locked_url, served.procs["locked"]
    seen = Seen()
    async with fresh_session() as http:
        for path in api_paths():
            for headers in BAD_CREDENTIALS:
                status, body = await seen.get(http, url + path, headers)
                assert status == 401, (path, headers)
                err = orjson.loads(body)
                assert err["error"] == "unauthorized", (path, headers)
        ok = {"Authorization": f"Bearer {TOKEN}"}
        for path in api_paths():
            status, _ = await seen.get(http, url + path, ok)
            assert status == (404 if path in ("/api/nope", "/api/") else 200), path
        # the scheme is case-insensitive (RFC 7235); the token is not
        status, _ = await seen.get(http, f"{url}/api/brands", {"Authorization": f"bearer {TOKEN}"})
        assert status == 200
        # the query-string token is for the stream only, and is checked like the header
        assert (await seen.get(http, f"{url}/api/creators?access_token={TOKEN}"))[0] == 401
        for wrong in (GUESS, TOKEN[:-1], f"{TOKEN}x", ""):
            status, _ = await seen.get(http, f"{url}/api/alerts/stream?access_token={wrong}")
            assert status == 401, wrong
        assert (await seen.get(http, f"{url}/api/alerts/stream?access_token={TOKEN}"))[0] == 200
        # the open routes stay open without a token
        for path in ("/healthz", "/metrics", "/", "/static/app.js"):
            assert (await seen.get(http, url + path))[0] == 200, path
    # no spelling of an /api/ URL reaches a handler without the token
    for target in (
        "//api/creators",
        "/./api/creators",
        "/static/../api/creators",
        "/healthz/../api/creators",
        "/%61pi/creators",
        "/api/creators/../creators",
        "/api%2fcreators",
        "/api/creators%2f..%2fbrands",
        "/API/creators",
        "/api/creators/",
        "/api/alerts/stream/../../api/creators",
        f"{url}/api/creators",
    ):
        r = await raw_get(url, target)
        seen.add_raw(target, r)
        assert r.status in (400, 401, 404), (target, r.status, r.body[:200])
        assert b"creator_id" not in r.body, target
    seen.assert_clean(TOKEN, GUESS)
    out = proc.output()
    assert TOKEN not in out
    assert TOKEN.removeprefix("s3cret-web-token-") not in out
    assert GUESS not in out
    assert_no_server_errors(proc)


def _mentions_secret(node: ast.AST) -> bool:
    text = ast.unparse(node).lower()
    return any(word in text for word in ("token", "reveal", "given", "secret", "digest"))


async def test_token_is_compared_in_constant_time() -> None:
    assert "hmac.compare_digest(" in inspect.getsource(web_app._auth)
    # and the middleware that does it is the one the app runs
    settings = load_settings(environ={"MONITOR_API_TOKEN": TOKEN})
    redis = make_redis(settings)
    try:
        assert web_app._auth in web_app.create_web_app(settings, redis).middlewares
    finally:
        await redis.aclose()
    # nowhere in the web view is the token (or anything derived from it) compared with ==/!=/in
    for module in (web_app, web_api, web_sse):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(
                isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops
            ):
                operands = [node.left, *node.comparators]
                assert not any(_mentions_secret(o) for o in operands), (
                    module.__name__,
                    node.lineno,
                    ast.unparse(node),
                )


async def test_secrets_stay_out_of_metrics_errors_and_logs(site: Site) -> None:
    """A web process on a password-protected Redis, and one with the wrong password."""
    password = "pw-" + uuid.uuid4().hex
    own = OwnRedis(site.tmp, extra=["--requirepass", password])
    own.start()
    env = {
        **site.env,
        "MONITOR_REDIS": f"redis://:{password}@127.0.0.1:{own.port}/0",
        "MONITOR_API_TOKEN": TOKEN,
    }
    wrong_password = "not-" + password
    wrong_env = {**env, "MONITOR_REDIS": f"redis://:{wrong_password}@127.0.0.1:{own.port}/0"}
    procs: list[Proc] = []
    try:
        proc, url = await start_web(env, site.tmp / "web-pw.log")
        procs.append(proc)
        wrong, wrong_url = await start_web(wrong_env, site.tmp / "web-wrong-pw.log")
        procs.append(wrong)
        seen = Seen()
        ok = {"Authorization": f"Bearer {TOKEN}"}
        async with fresh_session() as http:
            status, body = await seen.get(http, f"{url}/healthz")
            assert (status, orjson.loads(body)["redis"]) == (200, "ok")  # the password works
            status, body = await seen.get(http, f"{wrong_url}/healthz")
            assert (status, orjson.loads(body)["redis"]) == (200, "unreachable")
            for base in (url, wrong_url):
                for path in (
                    "/metrics",
                    "/api/openapi.json",
                    "/api/creators",
                    "/api/brands",
                    "/api/alerts",
                    "/api/creators/nobody:x",
                    "/api/creators?sort=bogus",
                    "/api/alerts/stream",
                ):
                    status, _ = await seen.get(http, base + path, ok)
                    assert status in (200, 400, 404, 503), (base, path, status)
                    await seen.get(http, base + path)
            status, metrics = await seen.get(http, f"{url}/metrics")
            assert status == 200
            assert b"monitor_creators 0" in metrics
        seen.assert_clean(TOKEN, password, wrong_password, f"127.0.0.1:{own.port}")
        for p in procs:
            out = p.output()
            for secret in (TOKEN, password, wrong_password):
                assert secret not in out, (p.log_path.name, secret[:6])
        assert "redis unavailable" in wrong.output()  # it did say why, without the password
        assert_no_server_errors(proc)
    finally:
        for p in procs:
            p.stop()
        own.stop()
