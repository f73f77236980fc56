"""What ``NegativeScorer`` keeps between updates: growing arrays and trailing cumulative sums.

The scores of every bucket are kept (``Buffer``); the cumulative sums only over a trailing
horizon (``Sums``): every window the scorer sums ends at most ``reach`` positions before
the bucket it scores, so an update that changes the buckets from ``start`` on needs the
sums from ``start - reach`` on, and a horizon of ``reach`` plus some room for late
changes is enough. A change older than that is scored from the first bucket again.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["GROWTH", "Buffer", "Sums", "windows"]

GROWTH = 288  # positions of room a kept array gains at a time (a day of 5-minute buckets)


class Buffer:
    """A growing array (along its last axis) whose tail is rewritten by each update.

    It grows a day of 5-minute buckets at a time, so appending a few buckets copies no
    history, and a long history is not kept twice over (the daemon keeps one per watch).
    """

    def __init__(self, rows: tuple[int, ...] = (), dtype: npt.DTypeLike = np.float64) -> None:
        self._data = np.zeros((*rows, 64), dtype=dtype)
        self._end = 0

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    @property
    def dtype(self) -> np.dtype[np.generic]:
        return self._data.dtype

    def write(self, start: int, values: np.ndarray) -> np.ndarray:
        """Put ``values`` at positions ``start`` on; the array up to their end (a view)."""
        end = start + values.shape[-1]
        if end > self._data.shape[-1]:
            grown = np.zeros(
                (*self._data.shape[:-1], max(end, self._data.shape[-1] + GROWTH)), self._data.dtype
            )
            grown[..., :start] = self._data[..., :start]
            self._data = grown
        self._data[..., start:end] = values
        self._end = end
        return self._data[..., :end]

    def drop(self, count: int, capacity: int) -> None:
        """Let the first ``count`` positions go (the rest move to the front), in ``capacity``."""
        kept = self._data[..., count : self._end]
        if capacity != self._data.shape[-1]:
            self._data = np.zeros((*self._data.shape[:-1], capacity), self._data.dtype)
        self._data[..., : kept.shape[-1]] = kept  # numpy copies overlapping views safely
        self._end = kept.shape[-1]


class Sums:
    """Cumulative sums along the last axis, after a leading 0, over a trailing horizon.

    Values from ``start`` on are added one at a time to the kept sum at ``start``, in the
    order a fresh ``np.cumsum`` over the whole history adds them, so the sums are
    bit-identical to summing it all again (exact or not). Column ``j`` of the arrays
    returned is the sum before position ``offset + j``; the sums before ``offset`` are let
    go (``keep``). Reads go back at most ``reach`` positions before the first one scored.
    """

    def __init__(self, rows: tuple[int, ...], reach: int) -> None:
        self._buffer = Buffer(rows)  # column 0: the sum before ``offset`` (0 at the start)
        self.offset = 0
        self.reach = reach

    @property
    def nbytes(self) -> int:
        return self._buffer.nbytes

    def holds(self, start: int) -> bool:
        """Whether the kept sums suffice to score the positions from ``start`` on."""
        return start == 0 or start - self.reach >= self.offset

    def extend(self, start: int, values: np.ndarray) -> np.ndarray:
        """The sums (from ``offset``) of the history whose positions from ``start`` on are ``values``.

        ``start`` is 0 (start again) or ``holds``.
        """
        if start == 0 and self.offset:
            self.offset = 0
            self._buffer.write(0, np.zeros((*self._buffer._data.shape[:-1], 1)))
        at = start - self.offset
        sums = self._buffer.write(at + 1, values)
        tail = sums[..., at + 1 :]
        if start and tail.shape[-1]:
            tail[..., 0] += sums[..., at]
        np.add.accumulate(tail, axis=-1, out=tail)  # what np.cumsum runs
        return sums

    def keep(self, length: int, room: int, step: int) -> None:
        """Keep only what an update of a history of ``length`` changed ``room`` positions back reads.

        Let go ``step`` positions or more at a time (a copy of the horizon), into an array
        with ``step`` positions of room to grow.
        """
        first = length - room - self.reach
        capacity = room + self.reach + 1 + step
        if first - self.offset >= step or (first > self.offset and self.nbytes > self._bytes(capacity)):
            self._buffer.drop(first - self.offset, capacity)
            self.offset = first

    def _bytes(self, capacity: int) -> int:
        data = self._buffer._data
        return int(data.nbytes // data.shape[-1] * capacity)


def windows(sums: np.ndarray, ends: np.ndarray, spans: np.ndarray) -> np.ndarray:
    """``[..., len(spans), len(ends)]``: sums of the ``span`` values before each end.

    ``sums`` are cumulative sums after a leading 0 (see ``Sums``); an end is a prefix
    length (less the sums' offset). A window that runs off the start of the history sums
    what there is.
    """
    # ``take``, not ``sums[..., starts]``: numpy's fancy indexing after ``...`` is ~10x
    # slower; its "clip" mode reads a start before the history at 0.
    starts = sums.take(ends[None, :] - spans[:, None], axis=-1, mode="clip")
    return np.asarray(sums.take(ends, axis=-1)[..., None, :] - starts, dtype=np.float64)
