"""``[serve]``: where ``listener serve`` (the triage inbox) listens, and where others link to it.

Its own module, importing nothing of ours but ``listener.settings``, so that
``listener.config`` can use it without loading the web server. The password is
never here: only the name of the environment variable holding its hash, which
the serve command reads (a config check cannot know the service's environment).
"""

from __future__ import annotations

import ipaddress

from pydantic import Field, ValidationInfo, field_validator, model_validator

from listener.settings import Section, web_address

__all__ = ["ServeSettings", "is_loopback"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1): nobody else can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


class ServeSettings(Section):
    """``[serve]``: every key is optional; anything but loopback needs a password hash."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8001, ge=1, le=65535)
    public_url: str = ""  # e.g. "https://inbox.example.org": digests and alerts link to the inbox
    password_hash_env: str = "LISTENER_PASSWORD_HASH"  # a datasette-auth-passwords hash, never the password

    # Empty means "not set" for these two: no public address; no password (loopback only).
    @field_validator("*")
    @classmethod
    def _addresses_are_web_addresses(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name == "public_url" and isinstance(value, str) and value:
            web_address(value)
        return value

    @field_validator("*")
    @classmethod
    def _env_names_only(cls, value: object, info: ValidationInfo) -> object:
        if info.field_name == "password_hash_env" and value == "":
            return value
        return super()._env_names_only(value, info)

    @model_validator(mode="after")
    def _password_off_loopback(self) -> ServeSettings:
        if not is_loopback(self.host) and not self.password_hash_env:
            raise ValueError(
                f"host {self.host!r} is reachable from other machines: set password_hash_env to the "
                'variable holding the password hash, or use host = "127.0.0.1"'
            )
        return self

    def inbox_url(self, path: str = "") -> str | None:
        """``public_url`` followed by ``path`` (one slash between them); None when it is not set."""
        if not self.public_url:
            return None
        return self.public_url.rstrip("/") + ("/" + path.lstrip("/") if path else "")
