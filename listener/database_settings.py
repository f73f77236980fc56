"""``[database]``: the SQLite file (``path``, the default) or a PostgreSQL server (``url``, #22).

The password of a server is never in the file: ``password_env`` names the environment
variable that holds it, and a URL with a password in it is refused (the config file is
shared, copied and committed; an environment variable is not). Errors never repeat the URL,
since it may carry exactly that password.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

from pydantic import Field, field_validator, model_validator

from listener.errors import ConfigError
from listener.settings import Section

__all__ = ["DatabaseSettings", "password"]

DEFAULT_PATH = "listener.db"


class DatabaseSettings(Section):
    path: str | None = Field(default=None, min_length=1)
    url: str | None = None  # postgresql://user@host[:port]/database
    password_env: str | None = None  # names the variable holding the server's password
    # How long a daemon's hold on a job (a source, the alert cycle, the digest) lasts unless
    # renewed: a dead daemon's sources go to the others after it (listener.fleet).
    lease_seconds: float = Field(default=300.0, gt=0)

    @field_validator("url")
    @classmethod
    def _a_postgres_url_without_password(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            has_password = parts.password is not None or "password" in parse_qs(parts.query)
        except ValueError:
            raise ValueError("not a valid URL; write it like postgresql://user@host/database") from None
        if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
            raise ValueError("not a PostgreSQL URL; write it like postgresql://user@host/database")
        if has_password:
            raise ValueError(
                "holds a password; remove it from the URL and set password_env to the name of "
                "the environment variable that holds it"
            )
        return value

    @model_validator(mode="after")
    def _one_database(self) -> DatabaseSettings:
        if self.url is not None and self.path is not None:
            raise ValueError("set either path (a SQLite file) or url (a PostgreSQL server), not both")
        if self.password_env is not None and self.url is None:
            raise ValueError("password_env is for a PostgreSQL server: set url too, or remove it")
        if "lease_seconds" in self.model_fields_set and self.url is None:
            raise ValueError("lease_seconds is for a PostgreSQL server's daemons: set url too, or remove it")
        return self

    @property
    def sqlite_path(self) -> str:
        return self.path or DEFAULT_PATH


def password(settings: DatabaseSettings, env: Mapping[str, str]) -> str | None:
    """The server's password from the variable ``password_env`` names (None: libpq's own ways, e.g. ~/.pgpass)."""
    if settings.password_env is None:
        return None
    value = env.get(settings.password_env)
    if not value:
        raise ConfigError(
            f"database.password_env: the environment variable {settings.password_env} is not set; "
            "export it with the server's password (or remove password_env to use ~/.pgpass)"
        )
    return value
