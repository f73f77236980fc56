"""The base of every config section model.

Sections forbid unknown keys (so typos get a "did you mean"), accept secrets
only as names of environment variables, take ``true``/``false`` and nothing
else for a switch, and accept only http(s) addresses in ``*_url`` keys. This
module imports nothing of ours.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = ["Section", "web_address"]

_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,63}")
_LABEL = r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST = re.compile(rf"(?i)({_LABEL}(\.{_LABEL})*\.?|\[[0-9a-f:.]+\])(:\d{{1,5}})?")


def web_address(value: str, *, bare_host: bool = False) -> str:
    """``value`` if it is an http(s) address with a host name; else a ``ValueError`` saying what to write.

    A typo here would otherwise surface hours later as a collector failing to
    connect; ``bare_host`` also accepts ``mastodon.social`` for ``https://mastodon.social``.
    """
    parts = urlsplit(f"https://{value}" if bare_host and "//" not in value else value)
    if parts.scheme not in ("http", "https") or not _HOST.fullmatch(parts.netloc.rsplit("@", 1)[-1]):
        example = "mastodon.social or https://mastodon.social" if bare_host else "https://example.org"
        raise ValueError(f"not an http(s) address; write it like {example}")
    return value


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

    @field_validator("*", mode="before")
    @classmethod
    def _switches_are_booleans(cls, value: object, info: ValidationInfo) -> object:
        """``enabled = "yes"`` or ``= 1`` would be read as true by a lax parser: a switch is true or false."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.annotation is bool and not isinstance(value, bool):
            raise ValueError("must be true or false, without quotes")
        return value

    @field_validator("*")
    @classmethod
    def _addresses_are_web_addresses(cls, value: object, info: ValidationInfo) -> object:
        if (info.field_name or "").endswith("_url") and isinstance(value, str):
            web_address(value)
        return value
