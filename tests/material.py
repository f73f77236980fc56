"""What a test does when something it stands on is missing from this machine."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["unavailable"]


def unavailable(message: str) -> NoReturn:
    """Skip with ``message``, or fail under CI (``CI`` set), where everything must be there.

    A user's fresh clone may lack the shared test material or a browser: their
    tests are skipped, with the reason. CI installs both, so there a gap is a failure.
    """
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
