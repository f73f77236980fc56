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

import gc
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from listener.errors import ConfigError

from .langdetect import resolve_languages
from .model import LABELS, MODEL_DIR, ShippedModel, log_softmax
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
# Scores kept per normalised text (a few hundred bytes each): a crisis repeats itself.
CACHE_SIZE = 20_000


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
    """The shipped model with every encoder that loads on this machine.

    Fast by design: n-grams and the always-on encoders score every text; the
    cascade encoder (the slow one, if the model names one) only reads texts whose
    fast score is uncertain; and results are cached by normalised text, because
    retweets and copies are common exactly when volume spikes.
    """

    name = "default"

    def __init__(
        self,
        encoders: Sequence[str] | None = None,
        cache_size: int = CACHE_SIZE,
        directory: Path = MODEL_DIR,
        cascade: bool = True,
    ) -> None:
        from .encoders import load_encoders

        self.model = ShippedModel(directory)
        wanted = self.model.encoder_names if encoders is None else list(encoders)
        unknown = set(wanted) - set(self.model.encoder_names)
        if unknown:
            raise ConfigError(
                f"sentiment encoders {sorted(unknown)}: not in the model; use {self.model.encoder_names}"
            )
        self.encoders, self.missing = load_encoders(wanted)
        self._loaded = list(self.encoders)  # what ``release`` drops and ``score`` loads again
        self._released = False
        plan = self.model.meta.get("cascade") or {}
        self.cascade = str(plan["encoder"]) if plan.get("encoder") in self.encoders else None
        # Without the cascade the slow encoder reads every text (a margin no text is under).
        self.margin = float(plan.get("margin", 0.0)) if cascade else float("inf")
        self.version = self.model.version(["ngrams", *self.encoders])
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _raw(self, norm: Sequence[str]) -> np.ndarray:
        """Language-free log-scores for distinct, uncached normalised texts."""
        always = {n: enc.embed(norm) for n, enc in self.encoders.items() if n != self.cascade}
        raw = self.model.raw_log_proba(norm, always)
        if self.cascade is None or not len(norm):
            return raw
        top2 = np.sort(log_softmax(raw), axis=1)[:, -2:]
        unsure = np.flatnonzero(top2[:, 1] - top2[:, 0] < self.margin)
        if len(unsure):
            matrix = self.encoders[self.cascade].embed([norm[int(i)] for i in unsure])
            raw[unsure] = self.model.add_encoder(raw[unsure], self.cascade, matrix)
        return raw

    def _cached_raw(self, norm: Sequence[str]) -> np.ndarray:
        todo = list(dict.fromkeys(t for t in norm if t not in self._cache))
        if todo:
            for text, row in zip(todo, self._raw(todo), strict=True):
                self._cache[text] = row
        rows = []
        for text in norm:
            self._cache.move_to_end(text)
            rows.append(self._cache[text])
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return np.asarray(rows).reshape(-1, 3)

    def release(self) -> None:
        """Drop the encoders and the language model until the next ``score``.

        They hold most of the memory (USE ~125 MB, py3langid ~70 MB, e5 ~50 MB); a
        long-lived worker calls this when it goes idle to stay within the daemon's
        budget, and pays about a second to load them again. The cache is kept.
        """
        from .langdetect import _identifier

        self.encoders = {}
        self._released = True
        _identifier.cache_clear()
        gc.collect()

    def _reload(self) -> None:
        from .encoders import load_encoders

        self.encoders, _ = load_encoders(self._loaded)
        self._released = False

    def score(self, texts: Sequence[str], langs: Sequence[str | None] | None = None) -> list[Score]:
        if self._released:
            self._reload()
        resolved = resolve_languages([t[:MAX_CHARS] for t in texts], langs)
        proba = np.exp(self.model.decide(self._cached_raw(_prepare(texts)), resolved))
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
