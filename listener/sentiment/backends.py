"""Sentiment backends behind one interface, chosen by name.

- ``default``: the model trained by ``scripts/train_sentiment.py`` and shipped
  in the package (multilingual, offline).
- ``vader``: VADER's English lexicon and rules, for comparison.
- ``transformers:<dir>``: any local sequence-classification model directory,
  for users who have one (needs the optional ``transformers`` and ``torch``).

``score`` is a polarity in [-1, 1] for every backend, P(positive) - P(negative)
where there are probabilities, so averages over time compare across backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from listener.errors import ConfigError

from .langdetect import resolve_languages
from .model import LABELS, ShippedModel
from .preprocess import normalize

__all__ = [
    "Score",
    "SentimentBackend",
    "ShippedBackend",
    "TransformersBackend",
    "VaderBackend",
    "load_backend",
]


# Longer posts are cut before scoring: the opinion is rarely past this point, the
# encoders read at most 512 tokens anyway, and n-gram time grows with length.
MAX_CHARS = 4000


def _prepare(texts: Sequence[str]) -> list[str]:
    return [normalize(t[:MAX_CHARS]) for t in texts]


@dataclass(frozen=True, slots=True)
class Score:
    """One text's sentiment: ``label`` in LABELS, ``score`` in [-1, 1]."""

    label: str
    score: float
    lang: str | None


class SentimentBackend(Protocol):
    """What ingest, ``rescore`` and the CLI need; ``version`` is stored per mention."""

    name: str
    version: str

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Score]: ...


def _from_proba(proba: np.ndarray, langs: Sequence[str | None]) -> list[Score]:
    return [
        Score(LABELS[int(p.argmax())], round(float(p[2] - p[0]), 4), lang)
        for p, lang in zip(proba, langs, strict=True)
    ]


class ShippedBackend:
    """The shipped model with every encoder that loads on this machine."""

    name = "default"

    def __init__(self, encoders: Sequence[str] | None = None) -> None:
        from .encoders import load_encoders

        self.model = ShippedModel()
        wanted = self.model.encoder_names if encoders is None else list(encoders)
        unknown = set(wanted) - set(self.model.encoder_names)
        if unknown:
            raise ConfigError(
                f"sentiment encoders {sorted(unknown)}: not in the model; use {self.model.encoder_names}"
            )
        self.encoders, self.missing = load_encoders(wanted)
        self.version = self.model.version(["ngrams", *self.encoders])

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Score]:
        resolved = resolve_languages([t[:MAX_CHARS] for t in texts], langs)
        norm = _prepare(texts)
        embeddings = {name: enc.embed(norm) for name, enc in self.encoders.items()}
        proba = np.exp(self.model.log_proba(norm, embeddings))
        scores = _from_proba(proba, resolved)
        # A post with no text has no opinion; the model would still pick one.
        return [s if t.strip() else Score("neutral", 0.0, s.lang) for s, t in zip(scores, texts, strict=True)]


class VaderBackend:
    """VADER with its authors' thresholds (compound >= 0.05 positive, <= -0.05 negative)."""

    name = "vader"

    def __init__(self) -> None:
        try:
            from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        except ImportError as exc:
            raise ConfigError("sentiment backend vader: pip install vaderSentiment") from exc
        from importlib.metadata import version

        self._analyzer = SentimentIntensityAnalyzer()
        self.version = f"vader-{version('vaderSentiment')}"

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Score]:
        out = []
        resolved = resolve_languages([t[:MAX_CHARS] for t in texts], langs)
        for text, lang in zip(_prepare(texts), resolved, strict=True):
            compound = float(self._analyzer.polarity_scores(text)["compound"])
            label = "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
            out.append(Score(label, compound, lang))
        return out


def _label_index(id2label: dict[int, str]) -> list[int]:
    """Map a model's own label names to LABELS (neg/neu/pos by name, else by position)."""
    names = {i: str(label).lower() for i, label in id2label.items()}
    order = []
    for wanted in ("neg", "neu", "pos"):
        hits = [i for i, label in names.items() if label.startswith(wanted)]
        order.append(hits[0] if len(hits) == 1 else -1)
    if -1 in order:
        if len(names) != 3:
            raise ConfigError(f"transformers model labels {sorted(names.values())}: need 3")
        return [0, 1, 2]
    return order


class TransformersBackend:
    """A local Hugging Face sequence-classification model directory (no download)."""

    name = "transformers"

    def __init__(self, directory: str) -> None:
        path = Path(directory).expanduser()
        if not (path / "config.json").is_file():
            raise ConfigError(f"transformers model {path}: no config.json; give a model directory")
        try:
            import torch
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError as exc:
            raise ConfigError("sentiment backend transformers: pip install 'listener[transformers]'") from exc
        self._torch: Any = torch
        self._tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(path, local_files_only=True).eval()
        self._order = _label_index(dict(self._model.config.id2label))
        self.version = f"transformers:{path.name}"

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Score]:
        resolved = resolve_languages([t[:MAX_CHARS] for t in texts], langs)
        prepared = _prepare(texts)
        rows = []
        for start in range(0, len(prepared), 32):
            batch = prepared[start : start + 32]
            enc = self._tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
            with self._torch.no_grad():
                logits = self._model(**enc).logits
            rows.append(self._torch.softmax(logits, dim=-1).numpy()[:, self._order])
        proba = np.vstack(rows) if rows else np.zeros((0, 3))
        return _from_proba(proba, resolved)


def load_backend(name: str = "default") -> SentimentBackend:
    """``default``, ``vader``, ``transformers:<model dir>`` or a model directory."""
    if name == "default":
        return ShippedBackend()
    if name == "vader":
        return VaderBackend()
    if name.startswith("transformers:"):
        return TransformersBackend(name.split(":", 1)[1])
    if Path(name).expanduser().is_dir():
        return TransformersBackend(name)
    raise ConfigError(f"sentiment backend {name!r}: unknown; use default, vader or transformers:<dir>")
