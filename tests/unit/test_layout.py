"""The layout rules of issue #16, checked on the source tree with ``ast`` (nothing is imported).

Rules: no module over 400 lines, no function over 60 lines, no import cycle among ``monitor.*``
modules (top-level imports; ``if TYPE_CHECKING:`` blocks and imports inside functions are lazy
and do not count), and pure modules import no I/O. A module is pure when it lives under
``monitor/core/``, is listed in :data:`PURE_PATHS`, or its docstring's first line ends with
``(pure).``.

:data:`KNOWN` lists the violations that exist today in modules being split elsewhere. It can only
shrink: an entry that no longer violates fails :func:`test_known_violations_still_exist`, so
whoever fixes one removes it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

ROOT: Final = Path(__file__).resolve().parents[2]
PACKAGES: Final = ("monitor", "agents", "schemas")
MAX_MODULE_LINES: Final = 400
MAX_FUNCTION_LINES: Final = 60
PURE_PATHS: Final = ("monitor/ingest/plan.py", "monitor/detect/decisions.py")
PURE_DIRS: Final = ("monitor/core/",)
IO_IMPORTS: Final = (
    "redis",
    "aiokafka",
    "faust",
    "aiohttp",
    "asyncio",
    "monitor.store",
    "monitor.kafka",
    "monitor.notify",
    "monitor.web",
)
# A pure module of the store may build key names: keys.py is strings only (no client).
_PURE_IN_STORE_MAY_IMPORT: Final = "monitor.store.keys"

# Violation ids: "lines <path>", "function <path>::<qualified name>", "cycle <module> <module>..."
# (the strongly connected set, sorted), "impure <path> <imported module>".
_SPLITTING = "being split on its own branch (issue #16)"
KNOWN: Final[dict[str, str]] = {}


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # dotted, e.g. monitor.web.app
    path: str  # relative to the root, e.g. monitor/web/app.py
    tree: ast.Module
    lines: int


def load_modules(root: Path, packages: tuple[str, ...]) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            rel = file.relative_to(root)
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            text = file.read_text(encoding="utf-8")
            name = ".".join(parts)
            modules[name] = Module(name, rel.as_posix(), ast.parse(text), len(text.splitlines()))
    return modules


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(node: ast.AST) -> Iterator[ast.stmt]:
    """The statements directly inside a compound statement (also in except and case arms)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.stmt):
            yield child
        elif isinstance(child, ast.excepthandler | ast.match_case):
            yield from _statements(child)


def _imports(body: list[ast.stmt], *, in_functions: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements, skipping ``if TYPE_CHECKING:`` (and function bodies unless asked)."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(node.orelse, in_functions=in_functions)
        elif in_functions or not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _imports(list(_statements(node)), in_functions=in_functions)


def imported_names(module: Module, modules: dict[str, Module], *, lazy: bool) -> set[str]:
    """Dotted names a module imports: the submodule when ``from pkg import sub`` names one."""
    names: set[str] = set()
    package = module.name if module.path.endswith("__init__.py") else module.name.rpartition(".")[0]
    for node in _imports(module.tree.body, in_functions=lazy):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            names.add(sub if sub in modules else base)
    return names


def _function_lengths(body: list[ast.stmt], prefix: str = "") -> Iterator[tuple[str, int]]:
    """(qualified name, lines from ``def`` to the last line) of every function, nested too."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{node.name}", (node.end_lineno or node.lineno) - node.lineno + 1
            yield from _function_lengths(node.body, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _function_lengths(node.body, f"{prefix}{node.name}.")
        else:
            yield from _function_lengths(list(_statements(node)), prefix)


def long_modules(modules: dict[str, Module]) -> set[str]:
    return {f"lines {m.path}" for m in modules.values() if m.lines > MAX_MODULE_LINES}


def long_functions(modules: dict[str, Module]) -> set[str]:
    return {
        f"function {m.path}::{name}"
        for m in modules.values()
        for name, length in _function_lengths(m.tree.body)
        if length > MAX_FUNCTION_LINES
    }


def import_cycles(modules: dict[str, Module]) -> set[str]:
    """Strongly connected sets of two or more ``monitor.*`` modules (Tarjan), or self-imports."""
    graph = {
        name: sorted(
            n for n in imported_names(m, modules, lazy=False) if n in modules and n != name
        )
        for name, m in modules.items()
        if name.split(".")[0] == "monitor"
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: set[str] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                cycles.add("cycle " + " ".join(sorted(members)))

    for name in graph:
        if name not in index:
            visit(name)
    return cycles


def is_pure(module: Module) -> bool:
    if module.path in PURE_PATHS or module.path.startswith(PURE_DIRS):
        return True
    doc = ast.get_docstring(module.tree) or ""
    return doc.partition("\n")[0].rstrip().endswith("(pure).")


def _is_io(module: Module, name: str) -> bool:
    if name == _PURE_IN_STORE_MAY_IMPORT and module.path.startswith("monitor/store/"):
        return False
    return any(name == io or name.startswith(f"{io}.") for io in IO_IMPORTS)


def impure_imports(modules: dict[str, Module]) -> set[str]:
    """I/O imported anywhere in a pure module (a lazy import is I/O all the same)."""
    return {
        f"impure {m.path} {name}"
        for m in modules.values()
        if is_pure(m)
        for name in imported_names(m, modules, lazy=True)
        if _is_io(m, name)
    }


CHECKS: Final = {
    "module lines": long_modules,
    "function lines": long_functions,
    "import cycles": import_cycles,
    "pure imports": impure_imports,
}


@pytest.fixture(scope="module")
def tree() -> dict[str, Module]:
    return load_modules(ROOT, PACKAGES)


@pytest.mark.parametrize("check", CHECKS)
def test_layout_rule_holds(tree: dict[str, Module], check: str) -> None:
    new = CHECKS[check](tree) - set(KNOWN)
    assert not new, f"{check}: new violations (fix them; KNOWN only shrinks):\n" + "\n".join(
        sorted(new)
    )


def test_known_violations_still_exist(tree: dict[str, Module]) -> None:
    current = set().union(*(check(tree) for check in CHECKS.values()))
    fixed = set(KNOWN) - current
    assert not fixed, "fixed, remove from KNOWN:\n" + "\n".join(sorted(fixed))


def test_the_tree_was_read(tree: dict[str, Module]) -> None:
    # A wrong root would find nothing and every rule would hold vacuously.
    assert {"monitor.web.app", "monitor.core.windows", "agents", "schemas.events"} <= set(tree)
    assert is_pure(tree["monitor.detect.decisions"])
    assert is_pure(tree["monitor.core.stats"])
    assert not is_pure(tree["monitor.ingest.pipeline"])  # "plan (pure) → ..." is not the marker


# --- each check fails on a bad tree ---------------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> dict[str, Module]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return load_modules(root, ("monitor",))


_PKG: Final = {"monitor/__init__.py": "", "monitor/core/__init__.py": ""}


def test_long_module_is_found(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {**_PKG, "monitor/big.py": "x = 1\n" * 401, "monitor/ok.py": "x = 1\n" * 400},
    )
    assert long_modules(tree) == {"lines monitor/big.py"}


def _function(name: str, lines: int, indent: str = "") -> str:
    """A function of exactly ``lines`` lines, ``def`` line included."""
    return f"{indent}def {name}():\n" + f"{indent}    x = 1\n" * (lines - 1)


def test_long_function_is_found_in_classes_and_nested(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            **_PKG,
            "monitor/f.py": (
                _function("fits", 60)
                + "class C:\n"
                + _function("method", 61, "    ")
                + "def outer():\n"
                + _function("inner", 61, "    ")
                + "if True:\n"
                + _function("guarded", 61, "    ")
            ),
        },
    )
    assert long_functions(tree) == {
        "function monitor/f.py::C.method",
        "function monitor/f.py::outer",
        "function monitor/f.py::outer.inner",
        "function monitor/f.py::guarded",
    }


def test_cycle_is_found_but_lazy_imports_do_not_count(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            **_PKG,
            "monitor/a.py": "from monitor import b\n",
            "monitor/b.py": "from monitor.c import x\n",
            "monitor/c.py": "import monitor.a\nx = 1\n",
            "monitor/d.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from monitor import e\n"
            ),
            "monitor/e.py": "def f():\n    from monitor import d\n",
            "monitor/f.py": "from . import g\n",
            "monitor/g.py": "try:\n    from .f import y\nexcept ImportError:\n    pass\n",
        },
    )
    assert import_cycles(tree) == {
        "cycle monitor.a monitor.b monitor.c",
        "cycle monitor.f monitor.g",
    }


def test_impure_import_in_a_pure_module_is_found(tmp_path: Path) -> None:
    tree = _write(
        tmp_path,
        {
            **_PKG,
            "monitor/core/w.py": "import asyncio\nfrom monitor.store.keys import DAY_MS\n",
            "monitor/core/lazy.py": "def f():\n    import redis.asyncio\n",
            "monitor/marked.py": '"""Sums (pure).\n\nMore."""\nfrom aiohttp import web\n',
            "monitor/unmarked.py": '"""A plan (pure) then I/O."""\nimport aiokafka\n',
            "monitor/core/typed.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import faust\n"
            ),
            "monitor/core/fine.py": "import math\nfrom monitor.core import w\n",
            "monitor/core/keyed.py": "from monitor.store.keys import Keys\n",
            "monitor/store/names.py": '"""Names (pure)."""\nfrom monitor.store.keys import Keys\n',
        },
    )
    assert impure_imports(tree) == {
        "impure monitor/core/w.py asyncio",
        "impure monitor/core/w.py monitor.store.keys",
        "impure monitor/core/keyed.py monitor.store.keys",
        "impure monitor/core/lazy.py redis.asyncio",
        "impure monitor/marked.py aiohttp",
    }
