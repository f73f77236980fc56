"""The house rules, read off the source tree (AST), so that a seam cannot quietly close again.

Data flows one way, collectors -> storage <- listener: collectors never touch SQL,
storage never calls a network, detectors only compute, nothing reaches back into
the command line, and the demo's wire servers stay out of the product's path.
Modules stay short and functions simple enough to read in one sitting.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from radon.complexity import cc_visit  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("listener", "storage", "collectors")
NETWORK_CLIENTS = {"httpx", "requests", "tweepy", "praw", "prawcore", "mastodon", "atproto", "feedparser",
                   "urllib3", "smtplib", "aiosmtpd", "http", "socket", "apprise"}  # fmt: skip
WIRE_SERVERS = "listener.demo"  # the local fakes of the networks' APIs, and the demo that drives them
MAX_LINES = 500
MAX_COMPLEXITY = 20  # radon grade C


def modules(*tops: str) -> Iterator[tuple[str, Path]]:
    for top in tops:
        for path in sorted((ROOT / top).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def breaks(path: Path, forbidden: set[str] | tuple[str, ...]) -> list[str]:
    return sorted(i for i in imports(path) if any(i == f or i.startswith(f"{f}.") for f in forbidden))


def test_collectors_never_touch_sql() -> None:
    found = {
        name: breaks(path, ("sqlite3", "sqlite_utils", "storage")) for name, path in modules("collectors")
    }
    assert {name: bad for name, bad in found.items() if bad} == {}


def test_storage_never_calls_a_network_or_a_collector() -> None:
    forbidden = (*NETWORK_CLIENTS, "collectors", "listener.collect", "listener.demo")
    found = {name: breaks(path, forbidden) for name, path in modules("storage")}
    assert {name: bad for name, bad in found.items() if bad} == {}


def test_detectors_only_compute() -> None:
    forbidden = ("storage", "sqlite3", "sqlite_utils", "collectors", *NETWORK_CLIENTS)
    found = {name: breaks(path, forbidden) for name, path in modules("listener/analysis")}
    assert {name: bad for name, bad in found.items() if bad} == {}


def test_nothing_imports_the_command_line() -> None:
    """The CLI is the top of the tree: the demo, the daemon and the library never reach up into it."""
    found = {
        name: breaks(path, ("listener.cli",))
        for name, path in modules(*PRODUCT)
        if not (name == "listener.cli" or name.startswith("listener.cli.") or name == "listener.__main__")
    }
    assert {name: bad for name, bad in found.items() if bad} == {}


def test_wire_servers_are_for_the_demo_tests_and_benches_only() -> None:
    found = {
        name: breaks(path, (WIRE_SERVERS,))
        for name, path in modules(*PRODUCT)
        if not name.startswith(WIRE_SERVERS) and name not in ("listener.cli.demo",)
    }
    assert {name: bad for name, bad in found.items() if bad} == {}


@pytest.mark.parametrize("top", PRODUCT)
def test_no_module_is_over_500_lines(top: str) -> None:
    long = {
        name: n
        for name, path in modules(top)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("top", PRODUCT)
def test_every_function_is_simple_enough_to_read(top: str) -> None:
    """radon's cyclomatic complexity of each function and method at most 20 (grade C)."""
    complex_ = {
        f"{name}:{block.fullname}": block.complexity
        for name, path in modules(top)
        for block in cc_visit(path.read_text(encoding="utf-8"))
        if block.complexity > MAX_COMPLEXITY
    }
    assert complex_ == {}
