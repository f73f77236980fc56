"""The config file: one TOML file, parsed once into typed settings.

Validation is pydantic's; this module turns its findings into one-line errors
that name the file, the key path and the fix. Secrets never appear here, only
the names of the environment variables that hold them (``*_env`` keys).
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

import collectors
from collectors.base import NetworkSettings
from listener.alerts.settings import AlertSettings
from listener.database_settings import DatabaseSettings
from listener.digest.settings import DigestSettings
from listener.errors import ConfigError, QueryError
from listener.mail import EmailSettings
from listener.model import Watch
from listener.query import parse, uses_field
from listener.serve_settings import ServeSettings

__all__ = ["Config", "config_path", "load_config", "parse_config"]

DEFAULT_NAME = "listener.toml"
_NETWORK_ALIASES = {"twitter": "x", "hn": "hackernews", "fb": "facebook", "ig": "instagram"}


class _Watch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[\w.-]{1,64}$")
    query: str
    networks: list[str] | None = None

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse(value)
        except QueryError as exc:
            shown = value if len(value) <= 80 else f"{value[:77]}..."
            raise ValueError(f"{exc}; fix the query {shown!r}") from None
        return value


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    database: DatabaseSettings = DatabaseSettings()
    watches: list[_Watch] = []
    networks: dict[str, dict[str, Any]] = {}
    email: EmailSettings | None = None
    alerts: AlertSettings = AlertSettings()
    digest: DigestSettings = DigestSettings()
    serve: ServeSettings = ServeSettings()


@dataclass(frozen=True, slots=True)
class Config:
    """A validated config. Paths are absolute, resolved against the file's folder."""

    path: Path
    database: Path  # the SQLite file (unused when postgres is set)
    watches: tuple[Watch, ...]
    networks: Mapping[str, NetworkSettings]  # every configured section, enabled or not
    watch_networks: Mapping[str, tuple[str, ...] | None]  # None: every network
    email: EmailSettings | None = None
    alerts: AlertSettings = field(default_factory=AlertSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    postgres: DatabaseSettings | None = None  # [database] url: a PostgreSQL server (#22), not yet used

    def enabled_networks(self) -> list[str]:
        return [name for name, settings in self.networks.items() if settings.enabled]

    def own_accounts(self) -> tuple[tuple[str, str], ...]:
        """The user's own accounts as (network, lowercased handle or id): each network's
        ``accounts``, plus Reddit's ``username`` and the page or channel a network is set to."""
        found: list[tuple[str, str]] = []
        for network, settings in self.networks.items():
            names = list(getattr(settings, "accounts", ()) or ())
            names += [
                getattr(settings, key, None) for key in ("username", "page_id", "user_id", "channel_id")
            ]
            for name in names:
                clean = str(name or "").strip().removeprefix("@").removeprefix("u/").removeprefix("/u/")
                if clean and (network, clean.lower()) not in found:
                    found.append((network, clean.lower()))
        return tuple(found)

    def sources(self) -> list[tuple[str, str]]:
        """Every (network, watch) pair that collection covers."""
        return [
            (network, watch.name)
            for network in self.enabled_networks()
            for watch in self.watches
            if self.watch_networks.get(watch.name) is None
            or network in (self.watch_networks[watch.name] or ())
        ]


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$LISTENER_CONFIG``, else ``./listener.toml``."""
    return Path(explicit or os.environ.get("LISTENER_CONFIG") or DEFAULT_NAME)


def load_config(path: Path) -> Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such config file; run 'listener init' to write one, or pass --config"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read it ({exc.strerror}); check the path and permissions"
        ) from None
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {_toml_message(exc)}") from None
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        raise _error(path, exc, _File) from None
    networks = {name: _network(path, name, section) for name, section in parsed.networks.items()}
    if "email" in parsed.alerts.channels and parsed.email is None:
        raise ConfigError(
            f"{path}: alerts.channels: 'email' needs an [email] section with host, sender and recipients"
        )
    _check_watches(path, parsed.watches, networks)
    base = path.parent.resolve()
    return Config(
        path=path,
        database=(base / Path(parsed.database.sqlite_path).expanduser()).resolve(),
        watches=tuple(Watch(w.name, w.query, parse(w.query)) for w in parsed.watches),
        networks=networks,
        watch_networks={
            w.name: tuple(w.networks) if w.networks is not None else None for w in parsed.watches
        },
        email=parsed.email,
        alerts=parsed.alerts,
        digest=parsed.digest,
        serve=parsed.serve,
        postgres=parsed.database if parsed.database.url is not None else None,
    )


def _network(path: Path, name: str, section: dict[str, Any]) -> NetworkSettings:
    if name not in collectors.REGISTRY:
        raise ConfigError(f"{path}: networks.{name}: unknown network; {_suggest(name, collectors.REGISTRY)}")
    model = collectors.settings_model(name)
    try:
        return model.model_validate(section)
    except ValidationError as exc:
        raise _error(path, exc, model, prefix=("networks", name)) from None


def _check_watches(path: Path, watches: Sequence[_Watch], networks: Mapping[str, NetworkSettings]) -> None:
    seen: set[str] = set()
    for i, watch in enumerate(watches):
        if watch.name in seen:
            raise ConfigError(
                f"{path}: watches[{i}].name: {watch.name!r} is used twice; give each watch its own name"
            )
        seen.add(watch.name)
        if uses_field(parse(watch.query), "sentiment"):  # matched when collected, scored only later
            raise ConfigError(
                f"{path}: watches[{i}].query: sentiment: cannot select what a watch collects (mentions are "
                "scored after they are stored); remove it, and filter with 'listener search \"... "
                "sentiment:negative\"'"
            )
        for j, network in enumerate(watch.networks or []):
            if network not in networks:
                choices = networks or collectors.REGISTRY
                raise ConfigError(
                    f"{path}: watches[{i}].networks[{j}]: {network!r} is not configured; "
                    f"{_suggest(network, choices)} or add a [networks.{network}] section"
                )


def _suggest(word: str, choices: Mapping[str, Any] | Sequence[str]) -> str:
    names = sorted(choices)
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    if word in _NETWORK_ALIASES and _NETWORK_ALIASES[word] in names:
        close = [_NETWORK_ALIASES[word]]
    if close:
        return f"did you mean {close[0]!r}?"
    return "known: " + (", ".join(names) if names else "(none)")


def _toml_message(exc: tomllib.TOMLDecodeError) -> str:
    # tomllib says e.g. "Expected '=' after a key in a key/value pair (at line 3, column 7)".
    message = str(exc)
    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    where = f"line {found[1]}, column {found[2]}: " if found else ""
    if "(at end of document)" in message:
        where = "at end of file: "
    reason = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
    return f"{where}invalid TOML: {reason}; fix the syntax (strings need quotes, tables [brackets])"


def _keypath(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields_at(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The known keys of the table that holds ``loc``'s last key."""
    current: type[BaseModel] | None = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = current.model_fields.get(part) if current else None
        if info is None:
            return []
        annotation = info.annotation
        args = getattr(annotation, "__args__", ())
        current = next(
            (a for a in (annotation, *args) if isinstance(a, type) and issubclass(a, BaseModel)), None
        )
    return list(current.model_fields) if current else []


def _error(
    path: Path, exc: ValidationError, model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> ConfigError:
    """The first validation error, as one line: file, key path, what is wrong, the fix."""
    # An unknown key first: a misspelt key also shows up as a missing one.
    err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = err["loc"]
    where = _keypath((*prefix, *loc))
    kind = err["type"]
    if kind == "missing":
        message = f"required key is missing; add {loc[-1]} = ..."
    elif kind == "extra_forbidden":
        close = difflib.get_close_matches(str(loc[-1]), _fields_at(model, loc), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else "remove it"
        message = f"unknown key; {hint}"
    elif kind == "string_pattern_mismatch":
        message = "use 1-64 letters, digits, '.', '_' or '-'"
    else:
        message = err["msg"].removeprefix("Value error, ")
        if kind != "value_error" and err.get("input") is not None and not str(loc[-1]).endswith("_env"):
            message += f" (got {err['input']!r})"
    return ConfigError(f"{path}: {where}: {message}")
