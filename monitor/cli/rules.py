"""``monitor rules apply FILE`` / ``monitor rules list``: the compacted rules topic from a shell."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from monitor.brands.publish import apply_rules, read_live_rules
from monitor.brands.rules import rule_public_dict
from monitor.brands.validate import RuleError, parse_rules_toml
from monitor.settings import Settings
from schemas.codec import dumps


def _apply(settings: Settings, args: argparse.Namespace) -> int:
    try:
        rules = parse_rules_toml(Path(args.file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"monitor rules apply: no such file: {args.file}", file=sys.stderr)
        return 2
    except RuleError as exc:
        print(f"monitor rules apply: {args.file} was refused:\n{exc}", file=sys.stderr)
        return 2
    applied, removed = asyncio.run(apply_rules(settings, rules))
    print(f"applied {len(applied)} brand(s): {', '.join(applied) or '-'}")
    if removed:
        print(f"removed {len(removed)} brand(s): {', '.join(removed)}")
    return 0


def _list(settings: Settings, args: argparse.Namespace) -> int:
    rules = asyncio.run(read_live_rules(settings))
    if args.json:
        sys.stdout.write(
            dumps([rule_public_dict(r) for _, r in sorted(rules.items())]).decode() + "\n"
        )
        return 0
    if not rules:
        print("no brand rules are live: publish some with `monitor rules apply rules.toml`")
    for brand, rule in sorted(rules.items()):
        print(f"{brand:<20} {rule.name:<28} terms: {', '.join(rule.terms)}")
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rules = sub.add_parser("rules", help="brand rules on the compacted rules topic")
    rsub = rules.add_subparsers(dest="rules_action", required=True)
    apply = rsub.add_parser("apply", help="validate a rules TOML file and publish it")
    apply.add_argument("file")
    apply.set_defaults(run=_apply)
    lst = rsub.add_parser("list", help="show the live rules")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(run=_list)
