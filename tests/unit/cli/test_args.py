"""The numeric flag checks: what each accepts, what it refuses, and that refusals say why."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from monitor.cli import args as cli_args
from monitor.cli.main import build_parser

ACCEPTED: list[tuple[Callable[[str], float], str, float]] = [
    (cli_args.int_between(1, 500), "1", 1),
    (cli_args.int_between(1, 500), "500", 500),
    (cli_args.int_between(1, 500), " 20 ", 20),
    (cli_args.int_between(-3, 3), "-3", -3),
    (cli_args.positive_int, "1", 1),
    (cli_args.positive_int, "10000000000", 10_000_000_000),
    (cli_args.port, "1", 1),
    (cli_args.port, "65535", 65535),
    (cli_args.positive_float, "0.001", 0.001),
    (cli_args.positive_float, "15", 15.0),
    (cli_args.positive_float, "1e-9", 1e-9),
    (cli_args.non_negative_float, "0", 0.0),
    (cli_args.non_negative_float, "-0.0", 0.0),
    (cli_args.non_negative_float, "2.5", 2.5),
]

REFUSED: list[tuple[Callable[[str], float], str, str]] = [
    (cli_args.int_between(1, 500), "0", "must be between 1 and 500, got '0'"),
    (cli_args.int_between(1, 500), "501", "must be between 1 and 500, got '501'"),
    (cli_args.int_between(1, 500), "-1", "must be between 1 and 500, got '-1'"),
    (cli_args.int_between(1, 500), "2.5", "must be an integer, got '2.5'"),
    (cli_args.int_between(1, 500), "ten", "must be an integer, got 'ten'"),
    (cli_args.int_between(1, 500), "", "must be an integer, got ''"),
    (cli_args.positive_int, "0", "must be at least 1, got '0'"),
    (cli_args.positive_int, "-7", "must be at least 1, got '-7'"),
    (cli_args.positive_int, "1e3", "must be an integer, got '1e3'"),
    (cli_args.port, "0", "must be between 1 and 65535, got '0'"),
    (cli_args.port, "65536", "must be between 1 and 65535, got '65536'"),
    (cli_args.port, "http", "must be an integer, got 'http'"),
    (cli_args.positive_float, "0", "must be greater than 0, got '0'"),
    (cli_args.positive_float, "-0.5", "must be greater than 0, got '-0.5'"),
    (cli_args.positive_float, "nan", "must be greater than 0, got 'nan'"),
    (cli_args.positive_float, "fast", "must be a number, got 'fast'"),
    (cli_args.non_negative_float, "-0.001", "must be at least 0, got '-0.001'"),
    (cli_args.non_negative_float, "nan", "must be at least 0, got 'nan'"),
    (cli_args.non_negative_float, "5s", "must be a number, got '5s'"),
]


@pytest.mark.parametrize(("parse", "text", "expected"), ACCEPTED)
def test_accepts(parse: Callable[[str], float], text: str, expected: float) -> None:
    value = parse(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("parse", "text", "message"), REFUSED)
def test_refuses_with_the_allowed_range(
    parse: Callable[[str], float], text: str, message: str
) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        parse(text)
    assert str(refused.value) == message


def test_argparse_names_the_flag_in_the_refusal(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="monitor")
    parser.add_argument("--limit", type=cli_args.int_between(1, 500))
    with pytest.raises(SystemExit):
        parser.parse_args(["--limit", "0"])
    assert "argument --limit: must be between 1 and 500, got '0'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["creators", "--limit", "501"], "argument --limit: must be between 1 and 500"),
        (["web", "--port", "0"], "argument --port: must be between 1 and 65535"),
        (["web", "--keepalive-s", "0"], "argument --keepalive-s: must be greater than 0"),
        (["web", "--max-stream-clients", "0"], "must be between 1 and 100000"),
        (["notify", "--group-wait", "-1"], "argument --group-wait: must be at least 0"),
        (["notify", "--max-group", "0"], "argument --max-group: must be at least 1"),
        (["dev", "--speed", "x"], "argument --speed: must be a number, got 'x'"),
        (["dev", "--redis-port", "65536"], "argument --redis-port: must be between 1 and 65535"),
        (["dev", "feed", "--creators", "1.5"], "argument --creators: must be an integer"),
    ],
)
def test_the_commands_use_these_checks(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    assert message in capsys.readouterr().err
