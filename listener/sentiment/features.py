"""Sparse text features shared by training and scoring, in plain numpy.

Hashing (CRC-32, stable across runs and platforms, unlike ``hash()``) means no
vocabulary has to ship: the model file is a weight per bucket. Two blocks:
character 2-5-grams, which survive typos, elongations, hashtags and emoji,
and word 1-2-grams with negation scopes marked (see ``preprocess``), which
carry "non ... male" that character n-grams cannot see.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .preprocess import mark_negation, tokens

__all__ = ["FeatureSpec", "SparseRows", "featurize"]


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """How texts become sparse rows; stored in the model so scoring matches training."""

    bits: int = 18
    char_min: int = 2
    char_max: int = 5
    word_max: int = 2
    negation_scope: int = 4
    word_weight: float = 1.0

    @property
    def width(self) -> int:
        return 1 << self.bits


@dataclass(frozen=True, slots=True)
class SparseRows:
    """CSR parts: row ``i`` is ``indices[indptr[i]:indptr[i+1]]`` with ``values``."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    width: int


def _hash_block(grams: Counter[str], salt: bytes, mask: int) -> dict[int, float]:
    """Sublinear tf per bucket, L2-normalised so long and short posts weigh alike."""
    out: dict[int, float] = {}
    for gram, count in grams.items():
        bucket = zlib.crc32(gram.encode("utf-8"), zlib.crc32(salt)) & mask
        out[bucket] = out.get(bucket, 0.0) + 1.0 + math.log(count)
    norm = math.sqrt(sum(v * v for v in out.values())) or 1.0
    return {k: v / norm for k, v in out.items()}


def _char_grams(text: str, lo: int, hi: int) -> Counter[str]:
    padded = f" {text.lower()} "
    return Counter(padded[i : i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1))


def _word_grams(text: str, spec: FeatureSpec) -> Counter[str]:
    toks = mark_negation(tokens(text), spec.negation_scope)
    grams: Counter[str] = Counter(toks)
    for n in range(2, spec.word_max + 1):
        grams.update(" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1))
    return grams


def featurize(texts: Sequence[str], spec: FeatureSpec) -> SparseRows:
    """Turn normalised texts into hashed sparse rows (both blocks share the space)."""
    mask = spec.width - 1
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    for text in texts:
        row = _hash_block(_char_grams(text, spec.char_min, spec.char_max), b"c", mask)
        for k, v in _hash_block(_word_grams(text, spec), b"w", mask).items():
            row[k] = row.get(k, 0.0) + spec.word_weight * v
        indices.extend(row.keys())
        values.extend(row.values())
        indptr.append(len(indices))
    return SparseRows(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(indices, dtype=np.int32),
        np.asarray(values, dtype=np.float32),
        spec.width,
    )
