"""The collector contract: what every network module provides.

A collector turns a network's payloads into ``Mention`` records, a page at a
time, each page carrying the cursor to resume from after it. Collectors never
touch SQL: the runner in ``listener`` stores each page and its cursor in one
transaction. Failures are raised as ``listener.errors.CollectorError``
subclasses (``AuthError``, ``RateLimited(retry_at)``, ``SourceUnavailable``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from listener.query import Node
from listener.records import Page

__all__ = ["Collector", "NetworkSettings", "Watch"]

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


class NetworkSettings(BaseModel):
    """Settings every network section of the config has; collectors subclass it.

    Secrets are never values here, only the names of environment variables
    (keys ending in ``_env``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    interval_minutes: int = Field(default=15, ge=1, le=24 * 60)

    @field_validator("*")
    @classmethod
    def _env_names_only(cls, value: object, info: ValidationInfo) -> object:
        """A pasted token in an ``*_env`` key would end up in files and logs: refuse it."""
        is_env_key = bool(info.field_name and info.field_name.endswith("_env"))
        if is_env_key and value is not None and not (isinstance(value, str) and _ENV_NAME.fullmatch(value)):
            raise ValueError(
                "must be the NAME of an environment variable holding the secret "
                "(like X_BEARER_TOKEN), never the secret itself"
            )
        return value


@dataclass(frozen=True, slots=True)
class Watch:
    """A named query, as the collectors see it."""

    name: str
    query: str
    root: Node


class Collector(Protocol):
    name: ClassVar[str]  # config section, CLI value, mentions.network, runs.network
    Settings: ClassVar[type[NetworkSettings]]

    def __init__(self, settings: NetworkSettings, env: Mapping[str, str]) -> None: ...

    def fetch(self, watch: Watch, cursor: str | None) -> Iterator[Page]:
        """Pages newer than ``cursor``, oldest first is not required; each page has its next cursor."""
        ...
