"""Offline, multilingual sentiment and language detection for mentions.

    from listener.sentiment import load_backend, detect_language
    backend = load_backend()               # the shipped model
    backend.score(["non è affatto male"])  # [Score(label='positive', ...)]
    backend.version                        # store it with each scored mention

Heavy parts (numpy models, encoders, the language model) load on first use,
so importing this package stays cheap for the CLI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .backends import Score, SentimentBackend, load_backend
    from .langdetect import detect_language, resolve_languages
    from .model import LABELS

__all__ = [
    "LABELS",
    "Score",
    "SentimentBackend",
    "detect_language",
    "load_backend",
    "resolve_languages",
]

_HOMES = {
    "LABELS": "model",
    "Score": "backends",
    "SentimentBackend": "backends",
    "load_backend": "backends",
    "detect_language": "langdetect",
    "resolve_languages": "langdetect",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
