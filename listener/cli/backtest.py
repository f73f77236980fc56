"""``listener backtest``: replay a bucket series through the daemon's detectors.

The output is a contract (``bench/nab.py`` and ``../shared/tools/nab_eval.py`` read it):
stdout holds only the timestamps of the alerts that would have been sent, after merging
and cool-down (an incident's opening, and each rise in its severity), one ISO-8601 UTC
timestamp per line. Details go to stderr with --explain.

pandas and the detectors are imported when a backtest runs, not with the command line.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from listener.records import utc_iso

if TYPE_CHECKING:
    from listener.analysis import Finding, Kind

__all__ = ["backtest"]


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
    from listener.analysis.series import load_series

    try:
        size = parse_bucket(bucket) if bucket else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--bucket") from exc
    try:
        frame, size = load_series(series, size)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
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
