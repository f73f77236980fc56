"""The base of every config section model.

Sections forbid unknown keys (so typos get a "did you mean") and accept secrets
only as names of environment variables. This module imports nothing of ours.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["Section"]

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

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
