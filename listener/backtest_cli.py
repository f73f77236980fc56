"""``listener backtest``: replay a bucket series through the daemon's detectors.

The output is a contract (``bench/nab.py`` and ``../shared/tools/nab_eval.py`` read it):
stdout holds only the timestamps of the alerts that would have been sent, after merging
and cool-down, one ISO-8601 UTC timestamp per line. Details go to stderr with --explain.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click
import pandas as pd

from listener.analysis import DetectorSettings, Finding, Kind, parse_bucket, read_series_csv, run
from listener.records import utc_iso

__all__ = ["backtest", "load_series"]


def load_series(path: Path, bucket: timedelta) -> pd.DataFrame:
    """Read the CSV and regroup its rows into ``bucket``-sized buckets if they are finer.

    Buckets start at the first row's timestamp, so a prefix of the file is bucketed the
    same way as the whole file (the causality test depends on it).
    """
    try:
        frame = read_series_csv(path)
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        message = str(exc)
        raise click.ClickException(
            message if message.startswith(str(path)) else f"{path}: {message}"
        ) from exc
    if len(frame) < 2:
        return frame
    step = (frame.index[1:] - frame.index[:-1]).min().to_pytimedelta()
    if step == bucket:
        return frame
    if bucket < step or bucket % step:
        raise click.ClickException(
            f"{path}: rows are {step} apart; --bucket must be a multiple of that (e.g. {step})"
        )
    has_negative = frame.attrs.get("has_negative", False)
    resampler = frame.resample(pd.Timedelta(bucket), origin=frame.index[0])
    grouped, rows = resampler.sum(), resampler.size()
    # The last bucket may still be open (a prefix of the file ends inside it): not judged.
    if len(rows) and rows.iloc[-1] < bucket // step:
        grouped = grouped.iloc[:-1]
    grouped.attrs["has_negative"] = has_negative
    return grouped


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
@click.option("--bucket", default="5min", show_default=True, help="Bucket size: 5min, 15min, 1h...")
@click.option(
    "--kind",
    type=click.Choice(["volume", "negative", "all"]),
    default=None,
    help="Which alerts: volume, negative (needs a negative column) or all [default: all the columns allow].",
)
@click.option(
    "--explain", is_flag=True, help="Also describe every finding (opened, updated, resolved) on stderr."
)
def backtest(series: Path, bucket: str, kind: str | None, explain: bool) -> None:
    """Replay SERIES.csv bucket by bucket and print when alerts would have been sent.

    SERIES.csv has the header timestamp,value[,negative]: mentions (and negative
    mentions) per bucket. Output: one ISO timestamp per alert, nothing else on stdout.

    \b
    Example:
        listener backtest Twitter_volume_AAPL.csv
        listener backtest brand.csv --kind negative --explain
    """
    try:
        size = parse_bucket(bucket)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--bucket") from exc
    frame = load_series(series, size)
    has_negative = bool(frame.attrs.get("has_negative", False))
    kinds: tuple[Kind, ...]
    if kind == "negative" and not has_negative:
        raise click.ClickException(f"{series}: --kind negative needs a 'negative' column")
    if kind in ("volume", "negative"):
        kinds = (kind,)  # type: ignore[assignment]
    else:
        kinds = ("volume", "negative") if has_negative else ("volume",)
    findings = run(frame, DetectorSettings(bucket=size), kinds)
    for finding in findings:
        if explain:
            click.echo(describe(finding), err=True)
        if finding.is_alert:
            click.echo(utc_iso(finding.at))


if __name__ == "__main__":  # pragma: no cover
    backtest(sys.argv[1:], prog_name="listener backtest")
