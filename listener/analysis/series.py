"""Bucket series: mentions per time bucket (volume, negative count, negative share).

Detectors read a ``pandas.DataFrame`` indexed by the bucket start (aware UTC), one row per
bucket with no gaps, and the integer columns ``volume`` and ``negative``. Empty buckets are
rows of zeros, not missing rows: a quiet hour is data, and seasonal lags are positional.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_BUCKET",
    "build_bucket_groups",
    "build_buckets",
    "load_series",
    "negative_share",
    "parse_bucket",
    "read_series_csv",
    "regular_buckets",
    "row_step",
]

DEFAULT_BUCKET = timedelta(minutes=5)
COLUMNS = ["volume", "negative"]


def parse_bucket(text: str | timedelta) -> timedelta:
    """``5min``, ``15m``, ``1h``... as a timedelta; it must divide a day evenly.

    Seasonal lags are whole days of buckets, so a bucket that does not divide 24 h
    would drift against the daily rhythm.
    """
    value = text if isinstance(text, timedelta) else pd.Timedelta(text).to_pytimedelta()
    if value <= timedelta(0) or timedelta(days=1) % value:
        raise ValueError(
            f"bucket {text!r} must be positive and divide 24 hours evenly (e.g. 5min, 15min, 1h)"
        )
    return value


def _utc_index(values: Any) -> pd.DatetimeIndex:
    """Timestamps as an aware UTC index; naive ones are taken to be UTC already."""
    index = pd.DatetimeIndex(pd.to_datetime(values))
    return index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")


def build_buckets(
    rows: pd.DataFrame | Iterable[tuple[datetime, bool | int]],
    bucket: timedelta = DEFAULT_BUCKET,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    """Count mentions per bucket from ``(created_at, is_negative)`` rows.

    ``rows`` is an iterable of pairs or a DataFrame with ``created_at`` and ``is_negative``
    columns (``is_negative`` may be missing: then no mention is negative). Buckets are
    aligned on ``start`` when given, else on midnight UTC, so that the same mentions give
    the same buckets whatever the query window. Buckets run up to ``end`` (exclusive of
    the bucket starting at ``end``) or the last mention; gaps are zero buckets.
    """
    bucket = parse_bucket(bucket)
    if isinstance(rows, pd.DataFrame):
        frame = rows
    else:
        frame = pd.DataFrame(list(rows), columns=["created_at", "is_negative"])
    created = _utc_index(frame["created_at"]) if len(frame) else pd.DatetimeIndex([], tz="UTC")
    negative = (
        frame["is_negative"].fillna(False).astype(bool).to_numpy()
        if "is_negative" in frame and len(frame)
        else np.zeros(len(created), dtype=bool)
    )
    origin = _utc_index([start])[0] if start is not None else None
    if origin is None:
        if not len(created):
            return pd.DataFrame(columns=COLUMNS, index=pd.DatetimeIndex([], tz="UTC"), dtype="int64")
        origin = created.min().floor("D")
    step = pd.Timedelta(bucket)
    slot = np.floor((created - origin) / step).astype("int64")
    keep = slot >= 0
    last = int(slot[keep].max()) if keep.any() else -1
    if end is not None:
        last = int(np.ceil((_utc_index([end])[0] - origin) / step)) - 1
        keep &= slot <= last
    size = last + 1
    volume = np.bincount(slot[keep], minlength=size)[:size]
    neg = np.bincount(slot[keep], weights=negative[keep], minlength=size)[:size].astype("int64")
    index = pd.date_range(origin, periods=size, freq=step, name="bucket")
    return pd.DataFrame({"volume": volume.astype("int64"), "negative": neg}, index=index)


def build_bucket_groups(
    rows: pd.DataFrame,
    by: str,
    bucket: timedelta = DEFAULT_BUCKET,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, pd.DataFrame]:
    """One bucket frame per value of column ``by`` (e.g. ``network``), on a shared grid.

    Every group gets the same buckets (``start`` defaults to midnight UTC before the first
    mention, ``end`` to the last one), so a network that fell silent shows zero buckets
    rather than a shorter history.
    """
    if not len(rows):
        return {}
    created = _utc_index(rows["created_at"])
    first = _utc_index([start])[0] if start is not None else created.min().floor("D")
    step = pd.Timedelta(parse_bucket(bucket))
    # Up to and including the bucket of the last mention.
    last = _utc_index([end])[0] if end is not None else first + ((created.max() - first) // step + 1) * step
    return {
        str(key): build_buckets(group, bucket, start=first.to_pydatetime(), end=last.to_pydatetime())
        for key, group in rows.groupby(by, sort=True)
    }


def read_series_csv(path: str | Path) -> pd.DataFrame:
    """Read ``timestamp,value[,negative]`` rows as they are: sorted, same timestamps summed.

    ``volume`` keeps fractional values (a backtest may replay any metric, not only
    mention counts); ``negative`` is a count. The rows are not put on a grid here:
    ``regular_buckets`` does that, at the step the caller chooses.
    """
    frame = pd.read_csv(path)
    missing = {"timestamp", "value"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(sorted(missing))}; expected timestamp,value[,negative]"
        )
    values = frame["value"].fillna(0).to_numpy(dtype=np.float64)
    out = pd.DataFrame(
        {
            "volume": values if (values % 1).any() else values.astype("int64"),
            "negative": (
                frame["negative"].fillna(0).round().astype("int64").to_numpy()
                if "negative" in frame
                else np.zeros(len(frame), dtype="int64")
            ),
        },
        index=pd.DatetimeIndex(_utc_index(frame["timestamp"]), name="bucket"),
    )
    out = out.groupby(level=0, sort=True).sum()
    out.attrs["has_negative"] = "negative" in frame
    return out


def row_step(index: pd.DatetimeIndex) -> timedelta:
    """The usual spacing of the rows: the commonest positive gap between them (the shortest of a tie).

    Not the median: a sparse file, which leaves empty buckets out, has gaps of many
    steps, and their median is no step at all (70 minutes for a watch with a post
    every hour or so), while one step stays the commonest gap. On a regular file,
    NAB's included, both are the same.
    """
    gaps = pd.Series(index).diff().dropna()
    gaps = gaps[gaps > pd.Timedelta(0)]
    if gaps.empty:
        raise ValueError("needs at least two rows with different timestamps")
    counts = gaps.value_counts()
    return pd.Timedelta(counts[counts == counts.max()].index.min()).to_pytimedelta()


def regular_buckets(rows: pd.DataFrame, bucket: timedelta) -> pd.DataFrame:
    """Put ``read_series_csv`` rows on a grid of ``bucket`` starting at the first row.

    Rows are summed into the bucket that holds them and a bucket without rows counts
    zero, as for mentions. The grid starts at the first row, so a prefix of the file
    gives a prefix of the buckets; the last bucket is dropped while it may still be open
    (it holds fewer rows than ``bucket`` spans at the usual step), so that a prefix that
    ends inside a bucket does not judge it half full.
    """
    if len(rows) < 2:
        return rows
    step = row_step(pd.DatetimeIndex(rows.index))
    resampler = rows.resample(pd.Timedelta(bucket), origin=rows.index[0])
    grouped, counts = resampler.sum(), resampler.size()
    if len(counts) and counts.iloc[-1] < max(1, bucket // step):
        grouped = grouped.iloc[:-1]
    grouped.index.name = "bucket"
    grouped.attrs["has_negative"] = rows.attrs.get("has_negative", False)
    return grouped


def load_series(path: Path, bucket: timedelta | None = None) -> tuple[pd.DataFrame, timedelta]:
    """Read the CSV onto a grid of ``bucket`` (default: the rows' own step) from its first row.

    Any regular series works (NAB has 1-minute to hourly ones); rows off the grid are
    summed into the bucket that holds them and missing rows count zero. The bucket must
    divide a day, as the seasonal baselines are whole days of buckets. A file that does
    not fit raises ``ValueError`` naming it and the fix.
    """
    try:
        rows = read_series_csv(path)
        step = row_step(pd.DatetimeIndex(rows.index)) if len(rows) > 1 else DEFAULT_BUCKET
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        message = str(exc)
        raise ValueError(message if message.startswith(str(path)) else f"{path}: {message}") from exc
    size = bucket or step
    if bucket is None and timedelta(days=1) % size:
        raise ValueError(
            f"{path}: rows are {step} apart, which does not divide a day; pass --bucket (e.g. 5min, 1h)"
        )
    if size < step:
        raise ValueError(f"{path}: rows are {step} apart; --bucket must be at least that")
    return regular_buckets(rows, size), size


def negative_share(frame: pd.DataFrame) -> pd.Series:
    """Raw negative share per bucket (NaN where there is no mention): for display only.

    Detectors never use this ratio directly: 2 of 3 is 67% with a huge interval.
    """
    return frame["negative"] / frame["volume"].where(frame["volume"] > 0)
