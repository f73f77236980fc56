"""X: the settings model of ``[networks.x]``.

Apart from the collector so that validating the config imports no network client:
``collectors.x`` and its client library load only when collecting.
"""

from __future__ import annotations

from pydantic import Field as PydanticField

from collectors.base import BudgetSettings

__all__ = ["MIN_RESULTS", "Settings"]

MIN_RESULTS = 10  # the smallest max_results recent search accepts


class Settings(BudgetSettings):
    """``[networks.x]``: the token is read from the variable named in ``bearer_token_env``."""

    bearer_token_env: str = "X_BEARER_TOKEN"
    api_base_url: str | None = None  # e.g. the demo server; replaces https://api.twitter.com
    accounts: tuple[str, ...] = ()  # your own handles or numeric ids, for mentions
    max_results: int = PydanticField(default=100, ge=MIN_RESULTS, le=100)
    pages_per_run: int = PydanticField(default=5, ge=1)
