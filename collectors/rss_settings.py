"""RSS and Atom feeds: the settings model of ``[networks.rss]``.

Apart from the collector so that validating the config imports no network client:
``collectors.rss`` and its client library load only when collecting.
"""

from __future__ import annotations

from pydantic import Field as PydanticField

from collectors.base import NetworkSettings

__all__ = ["USER_AGENT", "Settings"]

USER_AGENT = "listener/0.1 (self-hosted social listening; feed reader)"


class Settings(NetworkSettings):
    """``[networks.rss]``: feed URLs per watch and for every watch; keyless."""

    feeds: dict[str, tuple[str, ...]] = PydanticField(default_factory=dict)  # watch name -> feed URLs
    all_watches: tuple[str, ...] = ()  # feed URLs read for every watch
    user_agent: str = USER_AGENT  # some sites refuse unnamed clients
    timeout_seconds: float = PydanticField(default=20.0, gt=0)
