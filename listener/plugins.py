"""Plug-in points: pluggy hooks that add networks, alert channels and detectors.

The built-ins register through the same hooks as a third-party package does, the way
Datasette does it: ``listener.default_plugins`` first, then every installed distribution
that names a module in the ``listener`` entry-point group::

    # pyproject.toml of the plug-in package
    [project.entry-points.listener]
    acme = "acme_listener"

    # acme_listener.py
    from listener.plugins import hookimpl

    @hookimpl
    def register_channels():
        return {"pager": make_pager}  # make_pager(alert_settings, email_settings, env) -> channel

``load_plugins()`` builds the manager once, at first use, not on import. The registries
(``collectors()``, ``settings_models()``, ``channels()``, ``detectors()``) are read from the hooks on every call,
so a plug-in registered later (a test's) counts at once; a later plug-in may replace a
built-in of the same name. This module imports nothing of ours at load time (collectors/
import it), and building the manager imports no pandas or scipy: built-ins are named
``"module:attr"`` or imported inside their hook.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import pandas as pd

    from listener.alerts.settings import AlertSettings
    from listener.analysis.findings import DetectorSettings, Finding
    from listener.mail import EmailSettings
    from listener.model import Watch

__all__ = [
    "INPUTS",
    "ChannelFactory",
    "Detector",
    "Inputs",
    "OwnAccount",
    "SourceRuns",
    "channels",
    "collectors",
    "detector_for",
    "detectors",
    "hookimpl",
    "hookspec",
    "load_plugins",
    "owns",
    "reach",
    "reload_plugins",
    "resolve",
    "scope",
    "settings_models",
]

PROJECT = "listener"  # pluggy's project name and the entry-point group
DEFAULT_PLUGINS = ("listener.default_plugins",)

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# What evaluation can load for a detector. "series" and "mentions" are one watch's, and the
# detector is called once per watch; "own_posts" is one own account's, called once per
# account; "runs" (every source) and "open_alerts" (its own unresolved incidents) once a pass.
WATCH_INPUTS = frozenset({"series", "mentions"})
INPUTS = WATCH_INPUTS | {"runs", "open_alerts", "own_posts"}


@hookspec
def register_collectors() -> Mapping[str, type | str] | None:
    """Networks: config section name -> collector class, or ``"module:Class"`` imported when used."""


@hookspec
def register_settings() -> Mapping[str, type | str] | None:
    """Networks' settings models: config section name -> pydantic model, or ``"module:Class"``.

    Optional: a network without one here is validated by its collector's ``Settings``. Naming
    a light module lets the config load without importing the network's client library.
    """


@hookspec
def register_channels() -> Mapping[str, ChannelFactory | str] | None:
    """Alert channels: name -> ``factory(alert_settings, email_settings, env)``, or ``"module:attr"``."""


@hookspec
def register_detectors() -> Sequence[Detector] | None:
    """Detectors: each has a ``name`` (its alert kind), the ``inputs`` it reads and ``detect(inputs, now)``."""


class Channel(Protocol):
    def send(self, message: Any) -> None: ...


ChannelFactory = Callable[["AlertSettings", "EmailSettings | None", Mapping[str, str]], Channel]


@dataclass(frozen=True, slots=True)
class SourceRuns:
    """One source's recent history, for health checks (``"runs"``). Lists are newest first."""

    network: str
    watch: str
    # storage RunRow: started_at, error, error_message, fetched, rejected, rate_limit_reset
    runs: Sequence[Any]
    rate_limited_until: datetime | None  # the network's 429 reset, if still ahead
    mention_times: Sequence[datetime]


@dataclass(frozen=True, slots=True)
class OwnAccount:
    """One own account's posts (oldest first) and, per post, (replies, of which negative)."""

    network: str
    key: str  # lowercased handle or author id, as ``Config.own_accounts`` gives it
    posts: Sequence[Any]  # storage OwnPost
    replies: Mapping[str, tuple[int, int]]


@dataclass(frozen=True, slots=True)
class Inputs:
    """What evaluation loaded for one call of a detector; only what it declared is filled.

    ``since``: findings about moments after it are new (earlier ones were seen by the last
    pass; recording them again is harmless). ``series``: the watch's bucket frame
    (``volume``, ``negative`` columns) since the detectors' ``history``; ``scored``: how
    many of its buckets have every mention's sentiment. ``mentions``: the watch's mentions
    created since ``since`` (or its ``history``), newest first, as explanations read them
    (``text``, ``created_at`` ISO text, ``sentiment_label``...). ``sources``: every
    configured source and the feeds their networks ran this week. ``open_alerts``: the
    detector's own unresolved alerts. ``account``: one own account. ``kept``: in the daemon,
    the watch's ``listener.alerts.memory.KeptSeries`` (``series`` is then its complete
    buckets, and ``kept.scores(kind, frame)`` its scorers' state brought up to date).
    """

    since: datetime
    alerts: AlertSettings
    detector: DetectorSettings
    watch: Watch | None = None
    series: pd.DataFrame | None = None
    scored: int = 0
    mentions: Sequence[Any] = ()
    sources: Sequence[SourceRuns] = ()
    open_alerts: Sequence[Any] = ()
    account: OwnAccount | None = None
    kept: Any = None


class Detector(Protocol):
    """What ``register_detectors`` returns: a pure function of loaded inputs and the clock, named.

    Optional members, read with ``getattr``: ``history(inputs) -> timedelta`` (how far
    before ``now`` its inputs must reach), ``explains(mention) -> bool`` (which of an
    incident's mentions its explanation reads) and ``words`` (language -> key -> text:
    the label of its kind in messages, ``{"en": {"keyword": "recall mentions"}}``).
    """

    @property
    def name(self) -> str:
        """The alert kind it reports; one with several conditions reports ``name:condition``."""
        ...

    @property
    def inputs(self) -> tuple[str, ...]:
        """What evaluation loads for it, from ``INPUTS``."""
        ...

    def detect(self, inputs: Inputs, now: datetime) -> list[Finding]: ...


_lock = threading.Lock()
_manager: pluggy.PluginManager | None = None


def _build() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(sys.modules[__name__])
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name)
    pm.load_setuptools_entrypoints(PROJECT)
    return pm


def load_plugins() -> pluggy.PluginManager:
    """The plugin manager: the hookspecs, the built-ins, then installed plug-ins; built once."""
    global _manager
    with _lock:
        if _manager is None:
            _manager = _build()
        return _manager


def reload_plugins() -> pluggy.PluginManager:
    """Build the manager again: a plug-in installed since (or uninstalled) counts from now on."""
    global _manager
    with _lock:
        _manager = _build()
        return _manager


def _merged(results: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    # pluggy calls the last registered plug-in first: apply in registration order, so a
    # later plug-in replaces a built-in of the same name.
    out: dict[str, Any] = {}
    for result in reversed(results):
        out.update(result or {})
    return out


def collectors() -> dict[str, type | str]:
    """Every registered network: name -> collector class or ``"module:Class"``."""
    return _merged(load_plugins().hook.register_collectors())


def settings_models() -> dict[str, type | str]:
    """Every registered settings model: network name -> model or ``"module:Class"``."""
    return _merged(load_plugins().hook.register_settings())


def channels() -> dict[str, ChannelFactory | str]:
    """Every registered alert channel: name -> factory or ``"module:attr"``."""
    return _merged(load_plugins().hook.register_channels())


def detectors() -> dict[str, Detector]:
    """Every registered detector by name, built-ins first; each is checked for a usable shape."""
    found = _merged(
        [{d.name: d for d in result or ()} for result in load_plugins().hook.register_detectors()]
    )
    for name, detector in found.items():
        inputs = set(detector.inputs)
        if not name or ":" in name or not inputs or not inputs <= INPUTS or not callable(detector.detect):
            raise TypeError(
                f"detector {name!r}: needs a name without ':', inputs from {sorted(INPUTS)} and detect(); "
                "fix the plug-in that registers it"
            )
        if inputs & WATCH_INPUTS and "own_posts" in inputs:
            raise TypeError(f"detector {name!r}: reads a watch's inputs or an account's, not both")
    return found


def detector_for(kind: str) -> Detector | None:
    """The registered detector that reports ``kind`` (``health:auth`` is the ``health`` detector's)."""
    return detectors().get(kind.partition(":")[0])


def owns(detector: Detector, kind: str) -> bool:
    """Whether ``kind`` is one ``detector`` may report: its name, or ``name:condition``."""
    return kind == detector.name or kind.startswith(f"{detector.name}:")


def scope(detector: Detector) -> str:
    """How often evaluation calls it: once per ``watch``, per own ``account``, or once a ``pass``."""
    inputs = set(detector.inputs)
    if inputs & WATCH_INPUTS:
        return "watch"
    return "account" if "own_posts" in inputs else "pass"


def reach(detectors: Sequence[Detector], inputs: Inputs, least: timedelta) -> timedelta:
    """How far back the inputs these detectors share must reach: the longest ``history``, at least ``least``."""
    spans: list[timedelta] = [
        history(inputs) for d in detectors if (history := getattr(d, "history", None)) is not None
    ]
    return max([least, *spans])


def resolve(target: Any) -> Any:
    """A registered object itself, or what a ``"module:attr"`` string names (imported now)."""
    if not isinstance(target, str):
        return target
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)
