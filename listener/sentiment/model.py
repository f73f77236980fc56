"""The shipped sentiment model: linear heads in a numpy ``.npz`` plus a JSON card.

A product of experts: one logistic regression over hashed n-grams (always
there) and one per sentence encoder. Their log-probabilities add up, so an
encoder that cannot load on a platform simply drops out and the rest still
form a calibrated-enough model; ``version`` names the parts actually used.
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

    @property
    def encoder_names(self) -> list[str]:
        return [name for name in self.meta["components"] if name != "ngrams"]

    def version(self, used: Sequence[str]) -> str:
        return f"{self.meta['version']}:{'+'.join(used)}"

    def log_proba(self, texts: Sequence[str], embeddings: Mapping[str, np.ndarray]) -> np.ndarray:
        """Normalised log-probabilities (n, 3) from n-grams plus the given embeddings."""
        total = log_softmax(self.heads["ngrams"].sparse(featurize(texts, self.spec)))
        for name, matrix in embeddings.items():
            total += log_softmax(self.heads[name].dense(matrix))
        if self.meta.get("negation_rules", False):
            shift = np.asarray([negation_shift(t) for t in texts]) / 2
            total[:, 0] -= shift
            total[:, 2] += shift
        return log_softmax(total)
