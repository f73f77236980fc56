"""One module per network, all returning the same normalised ``Mention``.

Adding a network: write a module with a class that follows ``collectors.base.Collector``
and return it from a ``register_collectors`` hook (see ``listener.plugins``): the built-ins
are listed in ``listener.default_plugins``, another package names its own plug-in module
in the ``listener`` entry-point group. ``REGISTRY`` reads the hooks each time it is used,
and modules are imported only when a network is loaded, so ``listener --help`` stays fast.
A network's settings model may be registered apart (``register_settings``, a light module):
validating the config then imports no network client, only collecting does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from collectors.base import Collector, NetworkSettings
from listener import plugins

__all__ = ["REGISTRY", "load", "settings_model"]


class _Registry(Mapping[str, "type[Collector] | str"]):
    """Network name -> collector class, or ``"module:Class"`` until it is loaded."""

    def __getitem__(self, name: str) -> type[Collector] | str:
        return plugins.collectors()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(plugins.collectors())

    def __len__(self) -> int:
        return len(plugins.collectors())

    def __repr__(self) -> str:
        return f"REGISTRY({sorted(self)})"


REGISTRY: Mapping[str, type[Collector] | str] = _Registry()


def load(name: str) -> type[Collector]:
    """The collector class of network ``name`` (a ``KeyError`` if no plug-in registers it)."""
    return plugins.resolve(REGISTRY[name])  # type: ignore[no-any-return]


def settings_model(name: str) -> type[NetworkSettings]:
    """The settings model of network ``name``: a collector class's own ``Settings`` when the class is
    registered itself, else the registered model, else the collector's (imported for it)."""
    collector = REGISTRY[name]
    model = plugins.settings_models().get(name)
    if model is None or not isinstance(collector, str):
        return load(name).Settings
    return plugins.resolve(model)  # type: ignore[no-any-return]
