"""`listener backtest`: output contract, options, and causality (a prefix gives a prefix)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from listener.cli.backtest import backtest

DAY = 288


def write_series(path: Path, days: int = 10, seed: int = 0, negative: bool = True) -> pd.DataFrame:
    """A NAB-style CSV (naive timestamps at :02:53) with two spikes and a negative shift."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2015-02-26 21:42:53", periods=days * DAY, freq="5min")
    hours = index.hour + index.minute / 60
    volume = rng.poisson(30 * (1 + 0.5 * np.sin(2 * np.pi * (hours - 9) / 24)))
    volume[6 * DAY + 40 : 6 * DAY + 46] *= 9
    volume[8 * DAY + 200] *= 20
    share = np.full(len(index), 0.1)
    share[7 * DAY + 10 : 7 * DAY + 34] = 0.45
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M:%S"), "value": volume})
    if negative:
        frame["negative"] = rng.binomial(volume, share)
    frame.to_csv(path, index=False)
    return frame


def invoke(*args: str) -> tuple[int, list[datetime], str]:
    result = CliRunner().invoke(backtest, list(args))
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, [datetime.fromisoformat(line) for line in lines], result.stderr


def prefix(frame: pd.DataFrame, rows: int, path: Path) -> Path:
    frame.iloc[:rows].to_csv(path, index=False)
    return path


def test_prints_one_iso_timestamp_per_alert(tmp_path: Path) -> None:
    write_series(tmp_path / "s.csv")
    code, found, _ = invoke(str(tmp_path / "s.csv"))
    assert code == 0
    assert len(found) >= 3  # two volume spikes and a negative shift
    assert all(t.tzinfo is not None and t.second == 53 for t in found)


def test_kind_selects_detectors(tmp_path: Path) -> None:
    write_series(tmp_path / "s.csv")
    _, both, _ = invoke(str(tmp_path / "s.csv"))
    _, volume, _ = invoke(str(tmp_path / "s.csv"), "--kind", "volume")
    _, negative, explain = invoke(str(tmp_path / "s.csv"), "--kind", "negative", "--explain")
    assert sorted(volume + negative) == both
    # One incident: its opening, then at most one message per rise in severity.
    assert explain.count("negative opened") == 1 and "share" in explain
    assert 1 <= len(negative) <= 3


def test_negative_needs_the_column(tmp_path: Path) -> None:
    write_series(tmp_path / "s.csv", negative=False)
    result = CliRunner().invoke(backtest, [str(tmp_path / "s.csv"), "--kind", "negative"])
    assert result.exit_code == 1 and "negative" in result.stderr


def test_bad_bucket_is_a_usage_error(tmp_path: Path) -> None:
    write_series(tmp_path / "s.csv")
    result = CliRunner().invoke(backtest, [str(tmp_path / "s.csv"), "--bucket", "7min"])
    assert result.exit_code == 2


def test_coarser_bucket_regroups_rows(tmp_path: Path) -> None:
    write_series(tmp_path / "s.csv")
    code, found, _ = invoke(str(tmp_path / "s.csv"), "--bucket", "15min", "--kind", "volume")
    assert code == 0 and found


def test_causal_with_coarser_buckets(tmp_path: Path) -> None:
    frame = write_series(tmp_path / "full.csv")
    _, full, _ = invoke(str(tmp_path / "full.csv"), "--bucket", "15min")
    rows = 8 * DAY + 202  # ends inside a 15-minute bucket
    _, part, _ = invoke(str(prefix(frame, rows, tmp_path / "part.csv")), "--bucket", "15min")
    cutoff = pd.Timestamp(frame["timestamp"].iloc[rows - rows % 3], tz="UTC")
    assert part == [t for t in full if t < cutoff]


def test_help_shows_an_example() -> None:
    result = CliRunner().invoke(backtest, ["--help"])
    assert result.exit_code == 0 and "Example:" in result.output


@pytest.mark.parametrize("rows", [6 * DAY + 43, 7 * DAY + 20, 8 * DAY + 201, 9 * DAY])
def test_causal_prefix_gives_the_same_alerts(tmp_path: Path, rows: int) -> None:
    frame = write_series(tmp_path / "full.csv")
    _, full, _ = invoke(str(tmp_path / "full.csv"))
    _, part, _ = invoke(str(prefix(frame, rows, tmp_path / "part.csv")))
    cutoff = pd.Timestamp(frame["timestamp"].iloc[rows], tz="UTC")
    assert part == [t for t in full if t < cutoff]


def test_causal_on_a_real_series(shared_dir: Path, tmp_path: Path) -> None:
    source = shared_dir / "data" / "nab_realtweets" / "Twitter_volume_AAPL.csv"
    frame = pd.read_csv(source)
    _, full, _ = invoke(str(source))
    assert full
    for rows in (5000, 10000):
        _, part, _ = invoke(str(prefix(frame, rows, tmp_path / f"p{rows}.csv")))
        cutoff = pd.Timestamp(frame["timestamp"].iloc[rows], tz="UTC")
        assert part == [t for t in full if t < cutoff]


def write_rhythm(path: Path, step: str, days: int, spike_day: int, scale: float = 1.0) -> pd.DatetimeIndex:
    """A daily rhythm at ``step`` with one x6 hour at noon of ``spike_day``; values times ``scale``."""
    index = pd.date_range(
        "2015-03-01 00:00:00", periods=int(days * pd.Timedelta("1D") / pd.Timedelta(step)), freq=step
    )
    hours = index.hour + index.minute / 60
    per_hour = pd.Timedelta("1h") / pd.Timedelta(step)
    rate = 60 / per_hour * (1 + 0.5 * np.sin(2 * np.pi * (hours - 9) / 24))
    values = np.random.default_rng(3).poisson(rate).astype(float)
    noon = (index.normalize() == index[0].normalize() + pd.Timedelta(days=spike_day)) & (index.hour == 12)
    values[noon] *= 6
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M:%S"), "value": values * scale})
    frame.to_csv(path, index=False)
    return index[noon]


@pytest.mark.parametrize("step", ["1min", "10min", "30min", "1h"])
def test_the_bucket_defaults_to_the_rows_own_step(tmp_path: Path, step: str) -> None:
    spike = write_rhythm(tmp_path / "s.csv", step, days=12, spike_day=10)
    code, found, _ = invoke(str(tmp_path / "s.csv"), "--kind", "volume")
    assert code == 0 and found
    # Found at once on the hourly series, within five rows on the 1-minute one (1 -> 6 a minute).
    assert 0 <= (found[0].replace(tzinfo=None) - spike[0]) / pd.Timedelta(step) < 5
    assert all(t.replace(tzinfo=None) in spike for t in found)


def test_a_metric_in_other_units_is_read_in_its_own_noise(tmp_path: Path) -> None:
    """CPU-like values around 0.1: no count unit, yet the x6 hour stands out of their noise."""
    spike = write_rhythm(tmp_path / "s.csv", "5min", days=12, spike_day=10, scale=0.002)
    code, found, _ = invoke(str(tmp_path / "s.csv"))
    assert code == 0 and found[0].replace(tzinfo=None) == spike[0].to_pydatetime()
    assert all(t.replace(tzinfo=None) in spike for t in found)  # then rises in severity, if any


def test_irregular_rows_are_put_on_the_usual_step(tmp_path: Path) -> None:
    """Missing rows count zero, rows off the grid join the bucket that holds them."""
    spike = write_rhythm(tmp_path / "s.csv", "5min", days=12, spike_day=10)
    frame = pd.read_csv(tmp_path / "s.csv")
    frame = frame.drop(index=range(100, 400, 7))  # gaps
    times = pd.to_datetime(frame["timestamp"])
    times.iloc[500:600] += pd.Timedelta(minutes=2)  # off the grid
    frame["timestamp"] = times.dt.strftime("%Y-%m-%d %H:%M:%S")
    frame.to_csv(tmp_path / "odd.csv", index=False)
    code, found, _ = invoke(str(tmp_path / "odd.csv"), "--kind", "volume")
    assert code == 0 and found[0].replace(tzinfo=None) == spike[0].to_pydatetime()
    assert all(t.replace(tzinfo=None) in spike for t in found)


def test_a_step_that_does_not_divide_a_day_names_the_fix(tmp_path: Path) -> None:
    index = pd.date_range("2015-03-01", periods=500, freq="7min")
    pd.DataFrame({"timestamp": index, "value": 1}).to_csv(tmp_path / "s.csv", index=False)
    result = CliRunner().invoke(backtest, [str(tmp_path / "s.csv")])
    assert result.exit_code == 1
    assert "0:07:00 apart" in result.stderr and "--bucket" in result.stderr
    result = CliRunner().invoke(backtest, [str(tmp_path / "s.csv"), "--bucket", "1h"])
    assert result.exit_code == 0


def test_a_metric_gives_the_same_alerts_in_any_unit(tmp_path: Path) -> None:
    """Quasi-Poisson: a series that is not counts is judged in units of its own noise."""
    write_rhythm(tmp_path / "small.csv", "5min", days=12, spike_day=10, scale=0.002)
    write_rhythm(tmp_path / "large.csv", "5min", days=12, spike_day=10, scale=0.5)
    _, small, _ = invoke(str(tmp_path / "small.csv"), "--explain")
    _, large, _ = invoke(str(tmp_path / "large.csv"), "--explain")
    assert small and small == large
