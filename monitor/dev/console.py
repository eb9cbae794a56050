"""What ``monitor dev`` prints: its own lines, and the children's news relayed from their logs."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from schemas.codec import JSONDecodeError, loads


def say(text: str = "", end: str = "\n") -> None:
    with contextlib.suppress(OSError):  # a closed terminal must not stop the clean-up
        print(text, end=end, flush=True)


def short_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


def relay(name: str, line: str) -> None:
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


def json_list(body: bytes | None) -> list[dict[str, Any]]:
    """The objects of a JSON array answer; nothing when there is no answer or it is not one."""
    try:
        data = loads(body or b"[]")
    except JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
