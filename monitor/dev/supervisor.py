"""Child processes of ``monitor dev``: each in a process group of its own, stopped in order.

The terminal's Ctrl-C reaches only the supervisor, which then stops the children tier by tier
(feed, notifier and web, worker, broker and Redis): SIGTERM to the group, SIGKILL after a timeout.
On Linux every child also gets SIGTERM if the supervisor itself dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from monitor.dev.console import say

STOP_TIMEOUT_S: Final = 10.0
STEP_WAIT_S: Final = 60.0
STEP_TIER: Final = 9  # one-shot steps (format, topics, rules): already gone when we stop


class DevError(RuntimeError):
    """Something `monitor dev` cannot go on without; the message says what."""


class StopRequestedError(Exception):
    """Ctrl-C (or SIGTERM) arrived while starting."""


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
