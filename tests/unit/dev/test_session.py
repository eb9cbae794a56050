"""The pure parts of `monitor dev`: its settings for the children, their environment, the state
folder's lock, what it relays to the console, and the feed's split into history and live."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.dev.console import json_list, relay
from monitor.dev.feed import announce, history_part
from monitor.dev.session import child_env, dev_settings, lock_state
from monitor.dev.supervisor import DevError
from monitor.settings import Secret, Settings
from monitor.sim.live import Cast
from monitor.sim.produce import Record

PORTS = {"kafka": 19093, "redis": 16380, "web": 18081, "controller": 19094}


def test_dev_settings_point_at_the_sessions_services_and_keep_what_the_user_set() -> None:
    mine = dev_settings(Settings(partition_idle_s=7.0), PORTS)
    assert mine.kafka == "127.0.0.1:19093"
    assert mine.redis.reveal() == "redis://127.0.0.1:16380/0"
    assert mine.web_port == 18081
    assert mine.partition_idle_s == 7.0  # set by the user: kept
    assert dev_settings(Settings(), PORTS).partition_idle_s == 2.0  # default: quickened
    assert mine.api_token is not None
    assert len(mine.api_token.reveal()) >= 20


def test_child_env_carries_only_settings_that_differ_from_the_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MONITOR_NAMESPACE", "from-the-parent.")
    env = child_env(Settings(web_port=18081, api_token=Secret("tok")))
    assert env["MONITOR_WEB_PORT"] == "18081"
    assert env["MONITOR_API_TOKEN"] == "tok"  # secrets revealed to the child only
    assert "MONITOR_NAMESPACE" not in env
    assert "MONITOR_KAFKA" not in env
    assert env["PYTHONUNBUFFERED"] == "1"


def test_a_second_session_on_the_same_state_folder_is_refused(tmp_path: Path) -> None:
    first = lock_state(tmp_path)
    try:
        with pytest.raises(DevError, match="another `monitor dev`"):
            lock_state(tmp_path)
    finally:
        first.close()
    lock_state(tmp_path).close()  # free again once the first one is gone


def test_relay_shows_feed_lines_and_notifier_messages_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    relay("feed", "feed: planting a viral post")
    relay("feed", '{"event": "log line"}')
    relay("notify", '{"notify": "console", "text": "Mention spike\\nacme"}')
    relay("worker", "feed: not the feed")
    assert capsys.readouterr().out.splitlines() == [
        "  feed: planting a viral post",
        "  notify: Mention spike",
        "  notify: acme",
    ]


@pytest.mark.parametrize(
    ("body", "objects"),
    [(None, []), (b"not json", []), (b'{"a": 1}', []), (b'[{"a": 1}, 2]', [{"a": 1}])],
)
def test_json_list_keeps_the_objects_of_an_array(
    body: bytes | None, objects: list[dict[str, int]]
) -> None:
    assert json_list(body) == objects


def _records(*times: int) -> list[Record]:
    return [Record("social.comments", b"k", b"{}", t) for t in times]


def test_the_feed_splits_at_the_live_moment_without_losing_a_record() -> None:
    records = iter(_records(1, 2, 5, 6, 7))
    first_live: list[Record] = []
    history = list(history_part(records, 5, first_live))
    assert [r.at_ms for r in history] == [1, 2]
    assert [r.at_ms for r in first_live] == [5]
    assert [r.at_ms for r in records] == [6, 7]


def test_the_feed_announces_an_episode_when_its_first_event_goes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cast = Cast(
        talkers=[], micro=[], communities={}, notes=[(60_000, "a spike"), (120_000, "a wave")]
    )
    announce(cast, _records(59_999)[0])
    assert capsys.readouterr().out == ""
    announce(cast, _records(60_000)[0])
    assert "planting a spike at 1970-01-01T00:01:00Z" in capsys.readouterr().out
    assert cast.notes == [(120_000, "a wave")]
