"""What tests stand on outside themselves: what to do when it is missing, and the demo's run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

__all__ = ["Demo", "unavailable"]


def unavailable(message: str) -> NoReturn:
    """Skip with ``message``, or fail under CI (``CI`` set), where everything must be there.

    A user's fresh clone may lack the shared test material or a browser: their
    tests are skipped, with the reason. CI installs both, so there a gap is a failure.
    """
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@dataclass(frozen=True)
class Demo:
    """A finished ``listener demo`` (the ``demo`` fixture): its folder (demo.db, listener.toml,
    mail/) and what it printed."""

    folder: Path
    returncode: int
    stdout: str
    stderr: str
