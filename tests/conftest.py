"""Shared fixtures: real files, real SQLite, the shared test material."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Store
from tests.material import Demo, unavailable

pytest_plugins = ["tests.backends", "tests.browser", "tests.postgres"]

SHARED = Path(__file__).resolve().parents[2] / "shared"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """One run of the offline demo per session, for every test that reads it: never write to its files.

    A test that changes the database works on a copy (``tests.test_inbox_browser`` does).
    """
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LISTENER_")}
    done = subprocess.run(
        [sys.executable, "-m", "listener.cli", "demo", "--dir", str(folder)],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=600,
    )  # fmt: skip
    return Demo(folder, done.returncode, done.stdout, done.stderr)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The workplace's ``../shared`` folder (fixtures, data sets), beside the clone.

    A user's fresh clone lacks it: tests that need it are skipped then, with the
    reason. CI always has it, so there a missing folder is a failure.
    """
    path = Path(os.environ.get("LISTENER_SHARED", SHARED))
    if not (path / "fixtures").is_dir():
        unavailable(f"shared test material not found at {path} (set LISTENER_SHARED to its folder)")
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "listener.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(db_path) as opened:
        yield opened
