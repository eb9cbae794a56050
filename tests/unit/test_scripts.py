"""The Python scripts in scripts/ import only names that exist: nothing else type-checks them.

`scripts/measure-memory` imported ``make_redis`` from a module it had left; mypy and ruff only read
``*.py`` files, so only running the script would have shown it.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def python_scripts() -> list[Path]:
    return sorted(
        p
        for p in SCRIPTS.iterdir()
        if p.is_file() and p.read_text().startswith("#!/usr/bin/env python")
    )


def test_there_are_python_scripts() -> None:
    assert {p.name for p in python_scripts()} >= {"gen-schemas", "measure-memory"}


@pytest.mark.parametrize("script", python_scripts(), ids=lambda p: p.name)
def test_every_project_import_resolves(script: Path) -> None:
    tree = ast.parse(script.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.split(".")[0]
            in {
                "monitor",
                "schemas",
                "agents",
                "bench",
            }
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{script.name}: {node.module}.{alias.name}"
