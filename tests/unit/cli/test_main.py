"""The one argparse tree: every verb of the contract parses, each to the module that runs it."""

from __future__ import annotations

import pytest

from monitor.cli.main import build_parser

# The contract's CLI verbs (../shared/contract.md), with the module whose function runs each.
VERBS: list[tuple[list[str], str]] = [
    (["worker"], "monitor.cli.worker"),
    (["topics", "create"], "monitor.cli.topics"),
    (["creators"], "monitor.cli.creators"),
    (
        ["creators", "--tier", "micro", "--sort", "followers", "--limit", "5", "--json"],
        "monitor.cli.creators",
    ),
    (["creators", "show", "instagram:alice", "--json"], "monitor.cli.creators"),
    (["rules", "apply", "rules.toml"], "monitor.cli.rules"),
    (["rules", "list"], "monitor.cli.rules"),
    (["web", "--port", "8081"], "monitor.cli.web"),
    (["notify"], "monitor.cli.notify"),
    (["alerts", "tail", "--brand", "acme"], "monitor.cli.alerts"),
    (["replay", "events.jsonl"], "monitor.cli.feed"),
    (["generate"], "monitor.cli.feed"),
    (["dev"], "monitor.dev"),
    (
        [
            "silence",
            "add",
            "--brand",
            "acme",
            "--type",
            "mention_spike",
            "--creator",
            "tiktok:bob",
            "--until",
            "2h",
            "--comment",
            "launch",
        ],
        "monitor.cli.silence",
    ),
    (["silence", "list"], "monitor.cli.silence"),
    (["silence", "expire", "0f3a"], "monitor.cli.silence"),
]


@pytest.mark.parametrize(("argv", "module"), VERBS, ids=[" ".join(v[:2]) for v, _ in VERBS])
def test_contract_verb_parses_to_its_module(argv: list[str], module: str) -> None:
    run = build_parser().parse_args(argv).run
    assert run.__module__.startswith(module)


def test_web_flags_reach_the_namespace() -> None:
    args = build_parser().parse_args(["web", "--host", "0.0.0.0", "--max-stream-clients", "7"])
    assert (args.host, args.port, args.max_stream_clients) == ("0.0.0.0", None, 7)


def test_unknown_verb_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["nonsense"])
    assert exc.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err
