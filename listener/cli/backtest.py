"""``listener backtest``: replay a bucket series through the daemon's detectors.

The output is a contract (``bench/nab.py`` and ``../shared/tools/nab_eval.py`` read it):
stdout holds only the timestamps of the alerts that would have been sent, after merging
and cool-down (an incident's opening, and each rise in its severity), one ISO-8601 UTC
timestamp per line. Details go to stderr with --explain.

pandas and the detectors are imported when a backtest runs, not with the command line.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from listener.records import utc_iso

if TYPE_CHECKING:
    import pandas as pd

    from listener.analysis import Finding, Kind

__all__ = ["backtest", "load_series"]


def load_series(path: Path, bucket: timedelta | None = None) -> tuple[pd.DataFrame, timedelta]:
    """Read the CSV onto a grid of ``bucket`` (default: the rows' own step) from its first row.

    Any regular series works (NAB has 1-minute to hourly ones); rows off the grid are
    summed into the bucket that holds them and missing rows count zero. The bucket must
    divide a day, as the seasonal baselines are whole days of buckets.
    """
    import pandas as pd

    from listener.analysis import DEFAULT_BUCKET, read_series_csv, regular_buckets, row_step

    try:
        rows = read_series_csv(path)
        step = row_step(pd.DatetimeIndex(rows.index)) if len(rows) > 1 else DEFAULT_BUCKET
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        message = str(exc)
        raise click.ClickException(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from exc
    size = bucket or step
    if bucket is None and timedelta(days=1) % size:
        raise click.ClickException(
            f"{path}: rows are {step} apart, which does not divide a day; pass --bucket (e.g. 5min, 1h)"
        )
    if size < step:
        raise click.ClickException(f"{path}: rows are {step} apart; --bucket must be at least that")
    return regular_buckets(rows, size), size


def describe(finding: Finding) -> str:
    """One line for --explain."""
    text = (
        f"{utc_iso(finding.at)} {finding.kind} {finding.state} {finding.severity}: "
        f"{finding.observed:.0f} vs {finding.expected:.1f} expected over {finding.window} bucket(s), "
        f"score {finding.score:.1f}, since {utc_iso(finding.incident_start)}"
    )
    if finding.observed_share is not None and finding.expected_share is not None:
        text += (
            f"; share {finding.observed_share:.0%} [{finding.share_low or 0:.0%}, {finding.share_high or 0:.0%}]"
            f" vs {finding.expected_share:.0%}"
        )
    return text


@click.command()
@click.argument("series", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--bucket", default=None, help="Bucket size: 5min, 15min, 1h... [default: the rows' own step]")
@click.option(
    "--kind",
    type=click.Choice(["volume", "negative", "all"]),
    default=None,
    help="Which alerts: volume, negative (needs a negative column) or all [default: all the columns allow].",
)
@click.option(
    "--explain", is_flag=True, help="Also describe every finding (opened, updated, resolved) on stderr."
)
def backtest(series: Path, bucket: str | None, kind: str | None, explain: bool) -> None:
    """Replay SERIES.csv bucket by bucket and print when alerts would have been sent.

    SERIES.csv has the header timestamp,value[,negative]: mentions (and negative
    mentions) per row, at any regular step that divides a day (1 minute to 1 day).
    Output: one ISO timestamp per alert, nothing else on stdout.

    \b
    Example:
        listener backtest Twitter_volume_AAPL.csv
        listener backtest brand.csv --kind negative --explain
    """
    from listener.analysis import DetectorSettings, parse_bucket, run, sent

    try:
        size = parse_bucket(bucket) if bucket else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--bucket") from exc
    frame, size = load_series(series, size)
    has_negative = bool(frame.attrs.get("has_negative", False))
    kinds: tuple[Kind, ...]
    if kind == "negative" and not has_negative:
        raise click.ClickException(f"{series}: --kind negative needs a 'negative' column")
    if kind in ("volume", "negative"):
        kinds = (kind,)
    else:
        kinds = ("volume", "negative") if has_negative else ("volume",)
    findings = run(frame, DetectorSettings(bucket=size), kinds)
    if explain:
        for finding in findings:
            click.echo(describe(finding), err=True)
    for finding in sent(findings):
        click.echo(utc_iso(finding.at))


if __name__ == "__main__":  # pragma: no cover
    backtest(sys.argv[1:], prog_name="listener backtest")
