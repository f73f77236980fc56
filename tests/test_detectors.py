"""Detectors on synthetic series: spikes, floors, warm-up, share intervals, incidents."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from listener.analysis import (
    DetectorSettings,
    Finding,
    build_bucket_groups,
    build_buckets,
    detect,
    history_needed,
    run,
    score,
    sent,
)
from listener.analysis.detectors import wilson
from listener.analysis.detectors.negative import dispersion, seasonal_share

START = datetime(2024, 1, 1, tzinfo=UTC)
DAY = 288  # five-minute buckets


def rhythm_frame(days: int, mean: float, seed: int = 0, share: float = 0.1) -> pd.DataFrame:
    """Poisson mentions with a daily rhythm (x0.5 at night .. x1.5 by day), binomial negatives."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(START, periods=days * DAY, freq="5min", name="bucket")
    hours = index.hour + index.minute / 60
    rate = mean * (1 + 0.5 * np.sin(2 * np.pi * (hours - 9) / 24))
    volume = rng.poisson(rate)
    negative = rng.binomial(volume, share)
    frame = pd.DataFrame({"volume": volume, "negative": negative}, index=index)
    frame.attrs["has_negative"] = True
    return frame


def alerts(findings: list[Finding], kind: str | None = None) -> list[datetime]:
    return [f.at for f in findings if f.is_alert and (kind is None or f.kind == kind)]


def test_build_buckets_counts_and_fills_gaps() -> None:
    rows = [
        (START + timedelta(minutes=1), True),
        (START + timedelta(minutes=3), False),
        (START + timedelta(minutes=21), True),
    ]
    frame = build_buckets(rows, timedelta(minutes=5))
    assert list(frame["volume"]) == [2, 0, 0, 0, 1]
    assert list(frame["negative"]) == [1, 0, 0, 0, 1]
    assert frame.index[0] == pd.Timestamp(START)
    assert str(frame.index.tz) == "UTC"


def test_build_buckets_from_dataframe_with_end() -> None:
    df = pd.DataFrame({"created_at": [START + timedelta(minutes=7)], "is_negative": [False]})
    frame = build_buckets(df, timedelta(minutes=5), start=START, end=START + timedelta(minutes=30))
    assert len(frame) == 6 and frame["volume"].sum() == 1 and frame["volume"].iloc[1] == 1


def test_bucket_must_divide_a_day() -> None:
    with pytest.raises(ValueError, match="divide 24 hours"):
        build_buckets([], timedelta(minutes=7))


def test_wilson_interval_is_wide_for_small_counts() -> None:
    low, high = wilson(np.array([2.0]), np.array([3.0]), 1.96)
    assert 0.1 < low[0] < 0.3 and 0.9 < high[0] < 1.0


def test_clean_series_fires_nothing() -> None:
    frame = rhythm_frame(10, mean=20.0)
    assert alerts(run(frame)) == []


def test_spike_opens_one_incident_that_resolves() -> None:
    frame = rhythm_frame(10, mean=20.0)
    at = 8 * DAY + 100
    frame.iloc[at : at + 6, 0] *= 8
    findings = run(frame, kinds=("volume",))
    assert alerts(findings) == [frame.index[at].to_pydatetime()]
    opened = findings[0]
    assert opened.state == "opened" and opened.observed > 5 * opened.expected
    assert opened.severity in ("warning", "critical")
    assert findings[-1].state == "resolved" and findings[-1].incident_start == opened.at


def test_no_volume_alert_during_warmup() -> None:
    frame = rhythm_frame(3, mean=20.0)
    frame.iloc[DAY // 2, 0] = 1000
    assert alerts(run(frame, kinds=("volume",))) == []


def test_quiet_series_needs_real_counts() -> None:
    """A watch with ~1 mention an hour: a bucket of 3 is a jump, not a surge."""
    frame = rhythm_frame(10, mean=1 / 12, seed=3)
    frame.iloc[9 * DAY, 0] = 3
    assert alerts(run(frame, kinds=("volume",))) == []


def test_negative_share_shift_fires_within_two_buckets() -> None:
    frame = rhythm_frame(10, mean=50.0, seed=5)
    at = 8 * DAY + 50
    rng = np.random.default_rng(9)
    frame.iloc[at : at + 24, 1] = rng.binomial(frame["volume"].iloc[at : at + 24], 0.4)
    found = alerts(run(frame, kinds=("negative",)))
    assert len(found) == 1
    assert 0 <= (found[0] - frame.index[at].to_pydatetime()) / timedelta(minutes=5) <= 2
    finding = next(f for f in run(frame, kinds=("negative",)) if f.is_alert)
    assert finding.share_low is not None and finding.expected_share is not None
    assert finding.share_low > finding.expected_share


def test_two_negative_of_three_in_a_quiet_hour_fires_nothing() -> None:
    frame = rhythm_frame(10, mean=0.25, seed=2, share=0.1)
    last = slice(len(frame) - 12, len(frame))
    frame.iloc[last, 0] = 0
    frame.iloc[last, 1] = 0
    frame.iloc[len(frame) - 12, [0, 1]] = 1
    frame.iloc[len(frame) - 8, [0, 1]] = 1
    frame.iloc[len(frame) - 4, 0] = 1
    assert alerts(run(frame, kinds=("negative",))) == []


def toned_frame(days: int, mean: float, share: float, seed: int) -> pd.DataFrame:
    """Like ``rhythm_frame``, but each bucket's share is a beta draw (concentration 50)."""
    frame = rhythm_frame(days, mean, seed=seed)
    rng = np.random.default_rng(seed + 100)
    drawn = rng.beta(share * 50, (1 - share) * 50, len(frame))
    frame["negative"] = rng.binomial(frame["volume"], drawn)
    return frame


def test_dispersion_is_read_from_the_past_week() -> None:
    """Beta-binomial counts give rho near 1/51; binomial counts a rho near zero."""
    toned = toned_frame(10, mean=60.0, share=0.15, seed=1)
    plain = rhythm_frame(10, mean=60.0, seed=1, share=0.15)
    settings = DetectorSettings()
    for frame, low, high in ((toned, 0.01, 0.04), (plain, 0.0, 0.005)):
        volume = frame["volume"].to_numpy(dtype=float)
        negative = frame["negative"].to_numpy(dtype=float)
        p0 = np.nan_to_num(seasonal_share(volume, negative, settings))
        rho = dispersion(negative, volume, p0, settings)[-DAY:]
        assert low <= np.median(rho) <= high


def test_volume_spike_at_the_usual_share_fires_nothing() -> None:
    """x8 the mentions for an hour, tone unchanged: a volume story, not a negative one."""
    frame = toned_frame(12, mean=50.0, share=0.15, seed=3)
    at = 10 * DAY + 150
    rng = np.random.default_rng(4)
    spiked = frame["volume"].iloc[at : at + 12] * 8
    frame.iloc[at : at + 12, 0] = spiked
    frame.iloc[at : at + 12, 1] = rng.binomial(spiked, rng.beta(7.5, 42.5, 12))
    assert alerts(run(frame, kinds=("negative",))) == []


def test_ramping_shift_is_caught_while_it_ramps() -> None:
    """x3 over 20 minutes on an over-dispersed watch: an alert within the ramp and a bucket."""
    frame = toned_frame(12, mean=50.0, share=0.12, seed=6)
    at = 10 * DAY + 100
    profile = 1 + 2 * np.minimum(1.0, np.arange(1, 37) / 4)
    rng = np.random.default_rng(8)
    frame.iloc[at : at + 36, 1] = rng.binomial(frame["volume"].iloc[at : at + 36], 0.12 * profile)
    found = alerts(run(frame, kinds=("negative",)))
    assert len(found) == 1
    assert 0 <= (found[0] - frame.index[at].to_pydatetime()) / timedelta(minutes=5) <= 5


def test_all_negative_posts_in_a_quiet_hour_fire_nothing() -> None:
    """Three buckets of 1-3 mentions, all negative, where the share is usually 5%."""
    frame = rhythm_frame(10, mean=0.5, seed=7, share=0.05)
    night = 9 * DAY + 12 * 3  # 03:00, the quietest hour
    frame.iloc[night : night + 12, [0, 1]] = 0
    for offset, count in ((0, 3), (5, 2), (9, 3)):
        frame.iloc[night + offset, [0, 1]] = count
    assert alerts(run(frame, kinds=("negative",))) == []


def test_negative_scores_a_history_shorter_than_its_windows() -> None:
    """A new watch (three days, less than the week of dispersion): scored, not an error."""
    frame = rhythm_frame(3, mean=20.0, seed=9)
    scores = score(frame, "negative", DetectorSettings())
    assert len(scores.fire) == len(frame) and not scores.fire[: 2 * DAY].any()
    assert len(score(frame.iloc[:10], "negative", DetectorSettings()).fire) == 10


def test_detect_is_run_at_the_clock() -> None:
    frame = rhythm_frame(10, mean=20.0)
    at = 9 * DAY
    frame.iloc[at : at + 3, 0] *= 10
    history = frame.iloc[: at + 1]
    now = history.index[-1] + timedelta(minutes=5)
    found = detect(history, now.to_pydatetime(), kinds=("volume",))
    assert [f.state for f in found] == ["opened"]
    # The bucket still open at ``now`` is not judged yet.
    assert detect(history, (now - timedelta(minutes=1)).to_pydatetime(), kinds=("volume",)) == []
    since = detect(
        frame.iloc[: at + 3], (now + timedelta(minutes=10)).to_pydatetime(), since=now.to_pydatetime()
    )
    assert all(f.at > history.index[-1] for f in since)


def test_finding_is_frozen_and_slotted() -> None:
    finding = Finding("volume", START, 10.0, 1.0, "warning", "opened", START)
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.observed = 3.0  # type: ignore[misc]
    assert not hasattr(finding, "__dict__")


def test_settings_scales_follow_the_bucket() -> None:
    settings = DetectorSettings(bucket=timedelta(hours=1))
    assert settings.per_day == 24
    assert settings.volume_scales == (1, 3, 12)


def test_detect_on_the_daemon_window_matches_the_full_history() -> None:
    """The daemon loads ``history_needed()``; its findings equal those of the whole history."""
    frame = rhythm_frame(30, mean=20.0, seed=4)
    rng = np.random.default_rng(1)
    spikes = [27 * DAY + 10, 28 * DAY + 150, 29 * DAY + 40]
    for at in spikes:
        frame.iloc[at : at + 4, 0] *= 6
        frame.iloc[at : at + 4, 1] = rng.binomial(frame["volume"].iloc[at : at + 4], 0.5)
    settings = DetectorSettings()
    full = run(frame, settings)
    assert len(alerts(full)) >= len(spikes)
    span = pd.Timedelta(history_needed(settings))
    step = pd.Timedelta(settings.bucket)
    checked = 0
    # A sample of buckets, and the first buckets of each surge (where incidents open).
    for end in sorted(set(range(27 * DAY, 30 * DAY, 11)) | {at + d for at in spikes for d in (1, 2, 3)}):
        now = frame.index[end - 1] + step
        window = frame.iloc[:end][frame.index[:end] >= now - span]
        latest = [f for f in full if f.at == frame.index[end - 1]]
        assert detect(window, now.to_pydatetime(), settings) == latest
        checked += bool(latest)
    assert checked >= 3


def test_bucket_groups_share_one_grid() -> None:
    rows = pd.DataFrame(
        {
            "created_at": ["2024-01-01T00:01:00+00:00", "2024-01-01T00:21:00+00:00", "2024-01-01T00:02:00Z"],
            "is_negative": [True, False, False],
            "network": ["x", "x", "reddit"],
        }
    )
    groups = build_bucket_groups(rows, "network", timedelta(minutes=5))
    assert sorted(groups) == ["reddit", "x"]
    assert groups["x"].index.equals(groups["reddit"].index)
    assert list(groups["reddit"]["volume"]) == [1, 0, 0, 0, 0]
    assert list(groups["x"]["negative"]) == [1, 0, 0, 0, 0]


def test_slow_rise_on_a_young_watch_fires() -> None:
    """A story that builds over six hours on a 10-day-old watch, after a sharper spike.

    Each bucket is barely above the last, so a young record raised above the previous
    (overlapping) window would never be beaten; raised above the windows it does not
    overlap, the twelve-hour window catches it.
    """
    frame = rhythm_frame(10, mean=20.0, seed=0)
    volume = frame["volume"].to_numpy().astype(float)
    past = 4 * DAY + 150
    volume[past : past + 6] *= 10  # a sharp half-hour spike...
    volume[past + 6 : past + 78] *= 2  # ...and six hours of aftermath
    at = 9 * DAY + 60
    volume[at : at + 144] *= np.concatenate([np.linspace(1, 3.5, 72), np.full(72, 3.5)])
    frame["volume"] = np.round(volume).astype(int)
    found = alerts(run(frame, kinds=("volume",)))
    assert found[0] == frame.index[past].to_pydatetime()
    assert len(found) == 2 and frame.index[at] < pd.Timestamp(found[1]) < frame.index[at + 144]


def test_a_blip_at_the_trough_does_not_hide_a_bigger_story() -> None:
    """x24 at the quietest hour, then x20 at the busiest: mentions-wise the second is ten
    times bigger, and it must not be masked by the first's larger raw ratio."""
    frame = rhythm_frame(24, mean=20.0, seed=7)
    hours = frame.index.hour + frame.index.minute / 60
    trough = int(np.flatnonzero((frame.index.day == 15) & (np.abs(hours - 3.0) < 1e-9))[0])
    peak = int(np.flatnonzero((frame.index.day == 20) & (np.abs(hours - 15.0) < 1e-9))[0])
    frame.iloc[trough, 0] = 24 * 10
    frame.iloc[peak, 0] = 20 * 30
    found = alerts(run(frame, kinds=("volume",)))
    assert frame.index[peak].to_pydatetime() in found


def test_history_needed_per_detector() -> None:
    settings = DetectorSettings()
    volume, negative = history_needed(settings, "volume"), history_needed(settings, "negative")
    assert history_needed(settings) == max(volume, negative) == volume
    assert negative < volume


def test_sent_is_what_the_daemon_mails_openings_and_rises_in_severity() -> None:
    t0 = datetime(2024, 1, 9, 10, tzinfo=UTC)

    def step(minutes: int, state: str, severity: str, start: int = 0) -> Finding:
        at, begun = t0 + timedelta(minutes=minutes), t0 + timedelta(minutes=start)
        return Finding("volume", at, 50.0, 10.0, severity, state, begun)  # type: ignore[arg-type]

    findings = [
        step(0, "opened", "warning"),
        step(10, "updated", "warning"),  # grew, same severity: recorded, not mailed
        step(20, "updated", "critical"),  # worse: mailed
        step(60, "resolved", "critical"),
        step(300, "updated", "critical"),  # back within the cool-down, no worse: not mailed
        step(900, "opened", "info", start=900),
    ]
    assert [f.at for f in sent(findings)] == [findings[0].at, findings[2].at, findings[5].at]
