"""``listener export-series``: a watch's bucket counts as the CSV ``listener backtest`` reads.

Every bucket of the range is written, empty ones as zero, so the file has the
regular step backtest expects; the bucket still filling up (the current one) is
left out, as the daemon would not judge it yet.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import click

from listener.cli.app import App
from listener.records import utc_iso, utcnow
from listener.timeparse import parse_moment

__all__ = ["export_series", "zero_filled"]

BASE = 300  # seconds: the 5-minute buckets the database keeps


def zero_filled(
    counts: list[tuple[int, int, int, int]], start: int, end: int, size: int
) -> list[tuple[int, int, int]]:
    """(bucket start, volume, negative) for every bucket from ``start`` to before ``end``, zero where none."""
    found = {at: (volume, negative) for at, volume, negative, _ in counts}
    return [(at, *found.get(at, (0, 0))) for at in range(start, end, size)]


def _write(rows: list[tuple[int, int, int]], negative: bool, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "value", "negative"] if negative else ["timestamp", "value"])
    for at, volume, neg in rows:
        stamp = utc_iso(datetime.fromtimestamp(at, UTC))
        writer.writerow([stamp, volume, neg] if negative else [stamp, volume])


@click.command("export-series")
@click.argument("watch")
@click.option(
    "--kind", type=click.Choice(["volume", "negative"]), default="negative", show_default=True,
    help="volume: timestamp,value; negative: also the negative column (backtest then replays both alerts).",
)  # fmt: skip
@click.option(
    "--bucket", default="5min", show_default=True, help="Bucket size, a multiple of 5 minutes: 5min, 1h..."
)
@click.option("--since", default="30d", show_default=True, help="From: an age like 30d or an ISO date.")
@click.option("--network", default=None, help="Only this network's mentions.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@click.pass_obj
def export_series(
    app: App, watch: str, kind: str, bucket: str, since: str, network: str | None, out: Path | None
) -> None:
    """Write WATCH's mentions per bucket as the CSV 'listener backtest' reads.

    Rows: timestamp,value[,negative], one per bucket from --since to the last
    complete bucket, zero where nobody wrote. Negative counts scored mentions only.

    \b
    Example:
        listener export-series brand --since 30d --out brand.csv
        listener backtest brand.csv --explain
    """
    from listener.analysis import parse_bucket
    from listener.cli.names import check_network, check_watch

    try:
        size = int(parse_bucket(bucket).total_seconds())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--bucket") from exc
    if size % BASE:
        raise click.BadParameter(f"{bucket!r}: the database keeps 5-minute buckets; use 5min, 15min, 1h...")
    now = utcnow()
    start = int(parse_moment(since, now).timestamp()) // size * size
    end = int(now.timestamp()) // size * size  # the current bucket is still filling up
    with app.open_store() as store:
        watch = check_watch(app, store, watch) or watch
        network = check_network(app, store, network)
        counts = store.bucket_counts(
            watch, datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), size, network or ""
        )
    rows = zero_filled(counts, start, end, size)
    if len(rows) < 2:
        raise click.BadParameter(f"--since {since} gives {len(rows)} bucket(s); backtest needs at least two")
    unscored = sum(c[3] for c in counts)
    if out is None:
        _write(rows, kind == "negative", sys.stdout)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            _write(rows, kind == "negative", handle)
    click.echo(
        f"{len(rows)} buckets of {timedelta(seconds=size)}, {sum(r[1] for r in rows)} mentions"
        + (f" ({unscored} not scored yet: not in 'negative')" if unscored and kind == "negative" else "")
        + (f" -> {out}" if out else ""),
        err=True,
    )
