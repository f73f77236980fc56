"""``listener export-series`` writes the zero-filled CSV ``listener backtest`` reads; a sparse CSV works too.

A watch with a post every hour or so has most 5-minute buckets empty. The export
writes them as zero rows; a file that leaves them out (as a hand-made export from
SQL does) used to stop backtest with "rows are 0:55:00 apart", because the step was
the median gap. Both now give the same alerts.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from listener.cli import cli
from listener.model import Mention, Page
from listener.records import use_clock
from storage import SearchFilters, Store

NOW = datetime(2026, 11, 22, 0, 2, tzinfo=UTC)
START = datetime(2026, 11, 1, tzinfo=UTC)
SPIKE = datetime(2026, 11, 21, 8, 20, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """21 days of a quiet watch (a post in ~6% of 5-minute buckets), then 25 posts a bucket for an hour."""
    rng = random.Random(7)
    times = [
        START + timedelta(minutes=5 * b, seconds=rng.randrange(300))
        for b in range(21 * 288)
        if rng.random() < 0.06
    ]
    times += [SPIKE + timedelta(minutes=5 * b, seconds=i) for b in range(12) for i in range(25)]
    mentions = [Mention("x", str(i), "aurora", t) for i, t in enumerate(times)]
    path = tmp_path / "listener.db"
    with Store.open(path) as store:
        store.sync_watches([("brand", "aurora"), ("other", "acme")])
        store.save_page(Page("x", "brand", mentions, matches={m.native_id: ["brand"] for m in mentions}))
        ids = [row[0] for row in store.conn.execute("SELECT id FROM mentions ORDER BY id")]
        store.set_sentiment(
            [(i, "negative" if i % 5 == 0 else "neutral", 0.9, "test", None) for i in ids[:-10]]
        )
    use_clock(lambda: NOW)
    yield path
    use_clock(None)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_export_writes_every_bucket_zero_filled(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "brand.csv"
    result = invoke("--db", str(db), "export-series", "brand", "--since", "2026-11-01", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[0] == ["timestamp", "value", "negative"]
    body = rows[1:]
    assert len(body) == 21 * 288  # every bucket to the last whole one (00:00 to 24:00 on the 21st)
    assert body[0][0] == "2026-11-01T00:00:00+00:00" and body[-1][0] == "2026-11-21T23:55:00+00:00"
    with Store.open(db) as store:
        assert sum(int(r[1]) for r in body) == len(
            store.search(None, SearchFilters(START, NOW), limit=100_000)
        )
    assert sum(r[1] == "0" for r in body) > 0.9 * len(body)  # mostly empty buckets, written as zero
    assert [r[1] for r in body if r[0] == "2026-11-21T08:20:00+00:00"] == ["25"]
    assert "6048 buckets of 0:05:00" in result.stderr and "10 not scored yet" in result.stderr
    volume = invoke("--db", str(db), "export-series", "brand", "--kind", "volume", "--since", "2026-11-21")
    assert volume.stdout.splitlines()[0] == "timestamp,value" and len(volume.stdout.splitlines()) == 289
    hourly = invoke("--db", str(db), "export-series", "brand", "--bucket", "1h", "--since", "2026-11-21")
    by_hour = {r[0][11:13]: int(r[1]) for r in csv.reader(io.StringIO(hourly.stdout)) if r[0] != "timestamp"}
    assert (
        len(by_hour) == 24 and 200 <= by_hour["08"] < 210 and 100 <= by_hour["09"] < 110
    )  # 8 and 4 buckets of 25


def test_backtest_reads_the_export_and_a_sparse_file_alike(db: Path, tmp_path: Path) -> None:
    full = tmp_path / "full.csv"
    assert (
        invoke("--db", str(db), "export-series", "brand", "--since", "21d", "--out", str(full)).exit_code == 0
    )
    alerts = invoke("backtest", str(full), "--kind", "volume")
    assert alerts.exit_code == 0
    sent = alerts.stdout.splitlines()
    assert sent and sent[0].startswith("2026-11-21T08:"), alerts.output  # the spike, nothing before it
    sparse = tmp_path / "sparse.csv"
    lines = full.read_text().splitlines()
    sparse.write_text("\n".join([lines[0], *(line for line in lines[1:] if ",0," not in line)]) + "\n")
    assert len(sparse.read_text().splitlines()) < len(lines) / 5
    again = invoke("backtest", str(sparse), "--kind", "volume")
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == sent


def test_unknown_watch_and_bad_bucket_are_one_line_errors(db: Path) -> None:
    typo = invoke("--db", str(db), "export-series", "brnad")
    assert typo.exit_code == 2
    assert typo.stderr == "Error: unknown watch 'brnad'; did you mean 'brand'? (watches: brand, other)\n"
    bad = invoke("--db", str(db), "export-series", "brand", "--bucket", "1min")
    assert bad.exit_code == 2 and "5-minute buckets" in bad.stderr
    empty = invoke("--db", str(db), "export-series", "other", "--since", "1d")
    assert empty.exit_code == 0 and set(io.StringIO(empty.stdout).read().splitlines()[1:]) >= {
        "2026-11-21T00:00:00+00:00,0,0"
    }
