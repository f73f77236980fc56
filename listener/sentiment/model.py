"""The shipped sentiment model: linear heads in a numpy ``.npz`` plus a JSON card.

A weighted product of experts: one logistic regression over hashed n-grams
(always there) and one per sentence encoder. Their log-probabilities add up, so
an encoder that cannot load on a platform simply drops out and the rest still
form a model; ``version`` names the parts actually used. The decision then adds
a per-language offset to the negative and positive log-odds (the "thresholds",
chosen by cross-validation in ``scripts/train_sentiment.py``): training pools
sources with very different class balances, and the offsets put each language's
decision back where its own labelled tweets say it belongs.
No pickle: the file holds arrays only, so loading it runs no code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from listener.errors import ListenerError

from .features import FeatureSpec, SparseRows, featurize
from .lexicon import negation_shift

__all__ = ["LABELS", "MODEL_DIR", "LinearHead", "ShippedModel", "log_softmax"]

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
MODEL_DIR = Path(__file__).parent / "model"


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


@dataclass(frozen=True, slots=True)
class LinearHead:
    """Multinomial logistic regression: ``coef`` is (n_features, 3), float32."""

    coef: np.ndarray
    intercept: np.ndarray

    def dense(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x @ self.coef + self.intercept, dtype=np.float64)

    def sparse(self, rows: SparseRows) -> np.ndarray:
        n = len(rows.indptr) - 1
        row_ids = np.repeat(np.arange(n), np.diff(rows.indptr))
        contrib = self.coef[rows.indices] * rows.values[:, None]
        out = np.stack(
            [np.bincount(row_ids, weights=contrib[:, k], minlength=n) for k in range(3)],
            axis=1,
        )
        return np.asarray(out + self.intercept)


class ShippedModel:
    """Loads ``sentiment.npz`` + ``sentiment.json`` from ``directory``."""

    def __init__(self, directory: Path = MODEL_DIR) -> None:
        try:
            meta: dict[str, Any] = json.loads((directory / "sentiment.json").read_text("utf-8"))
            arrays = np.load(directory / "sentiment.npz", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ListenerError(
                f"sentiment model in {directory}: cannot load ({exc}); reinstall listener"
            ) from exc
        self.meta = meta
        self.spec = FeatureSpec(**meta["features"])
        self.heads = {
            name: LinearHead(
                arrays[f"{name}_coef"].astype(np.float32).T.copy(),
                arrays[f"{name}_intercept"].astype(np.float64),
            )
            for name in meta["components"]
        }
        self.weights: dict[str, float] = {n: float(w) for n, w in meta.get("weights", {}).items()}
        self.offsets: dict[str, np.ndarray] = {
            lang: np.asarray([b[0], 0.0, b[1]]) for lang, b in meta.get("offsets", {}).items()
        }

    @property
    def encoder_names(self) -> list[str]:
        return [name for name in self.meta["components"] if name != "ngrams"]

    def version(self, used: Sequence[str]) -> str:
        return f"{self.meta['version']}:{'+'.join(used)}"

    def expert(self, name: str, log_proba: np.ndarray) -> np.ndarray:
        """One part's log-probabilities, scaled by its weight in the product."""
        return self.weights.get(name, 1.0) * log_proba

    def raw_log_proba(self, texts: Sequence[str], embeddings: Mapping[str, np.ndarray]) -> np.ndarray:
        """Unnormalised log-scores (n, 3) from n-grams, the given embeddings and the rules.

        Language-free, so a backend can cache it by normalised text.
        """
        total = self.expert("ngrams", log_softmax(self.heads["ngrams"].sparse(featurize(texts, self.spec))))
        for name, matrix in embeddings.items():
            total = self.add_encoder(total, name, matrix)
        if self.meta.get("negation_rules", False):
            shift = np.asarray([negation_shift(t) for t in texts]) / 2 * self.rule_scale
            total[:, 0] -= shift
            total[:, 2] += shift
        return total

    @property
    def rule_scale(self) -> float:
        """The negation rules were sized for three parts of weight 1; heavier products need more."""
        return sum(self.weights.get(name, 1.0) for name in self.meta["components"]) / 3

    def add_encoder(self, raw: np.ndarray, name: str, matrix: np.ndarray) -> np.ndarray:
        """``raw`` with one more encoder's opinion, for the cascade's uncertain texts."""
        combined: np.ndarray = raw + self.expert(name, log_softmax(self.heads[name].dense(matrix)))
        return combined

    def decide(self, raw: np.ndarray, langs: Sequence[str | None]) -> np.ndarray:
        """Log-probabilities after the per-language offsets (languages without one get none)."""
        zero = np.zeros(3)
        offsets = np.asarray([self.offsets.get(lang or "", zero) for lang in langs]).reshape(-1, 3)
        return log_softmax(raw + offsets)

    def log_proba(
        self,
        texts: Sequence[str],
        embeddings: Mapping[str, np.ndarray],
        langs: Sequence[str | None] | None = None,
    ) -> np.ndarray:
        """Normalised log-probabilities (n, 3); ``langs`` selects the offsets."""
        raw = self.raw_log_proba(texts, embeddings)
        return self.decide(raw, langs if langs is not None else [None] * len(texts))
