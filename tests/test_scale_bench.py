"""``bench/scale.py``: its builder makes the database the issue asks for, and every measurement runs."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bench import scale
from bench.scale_data import END, LANGUAGES, NETWORKS, UNSCORED_FOR, Spec, build


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple[Spec, Path]:
    spec = Spec(2000, watches=5, days=2)
    path = tmp_path_factory.mktemp("scale") / "tiny.db"
    build(path, spec.mentions, spec.watches, spec.days, quiet=True)
    return spec, path


def test_the_database_has_the_shape_asked(tiny: tuple[Spec, Path]) -> None:
    _, path = tiny
    conn = sqlite3.connect(path)

    def one(sql: str) -> tuple[Any, ...]:
        return tuple(conn.execute(sql).fetchone())

    assert one("SELECT count(*), count(DISTINCT network), count(DISTINCT language) FROM mentions") == (
        2000, len(NETWORKS), len(LANGUAGES)
    )  # fmt: skip
    assert one("SELECT count(*) FROM watches")[0] == 5
    assert one("SELECT count(DISTINCT watch_id) FROM mention_watches")[0] == 5
    per_mention = one(
        "SELECT min(n), max(n) FROM (SELECT count(*) n FROM mention_watches GROUP BY mention_id)"
    )
    assert per_mention == (1, 3)
    authors, once, most = one(
        "SELECT count(*), sum(n = 1), max(n) FROM (SELECT count(*) n FROM mentions GROUP BY network, author_id)"
    )
    assert once > authors / 2 and most >= 20  # Zipf-like: most post once, a few post a lot
    replies = one("SELECT count(*) FROM mentions r JOIN mentions p ON p.network = r.network "
                  "AND p.native_id = r.in_reply_to_id AND p.id < r.id")[0]  # fmt: skip
    assert 0.1 * 2000 < replies < 0.3 * 2000
    # The scorer has caught up but for the last hour, where ~10% still wait (scattered).
    cutoff = (END - UNSCORED_FOR).isoformat()
    old, recent = (
        one(f"SELECT avg(sentiment_label IS NOT NULL) FROM mentions WHERE created_at {op} '{cutoff}'")[0]
        for op in ("<", ">=")
    )
    assert old == 1.0 and 0.7 < recent < 1.0
    shortest, longest = one("SELECT min(length(text)), max(length(text)) FROM mentions")
    assert shortest >= 50 and longest <= 280
    runs = one("SELECT count(*), count(DISTINCT network || watch) FROM runs")
    assert runs[1] == 5 * 7 + 45 and runs[0] == runs[1] * 2 * 96
    assert one("SELECT count(*) FROM runs WHERE error = 'rate-limited'")[0] > 0
    assert one("SELECT count(*) FROM alerts")[0] > 0
    conn.close()


def test_every_measurement_returns_numbers(tiny: tuple[Spec, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    spec, path = tiny
    monkeypatch.setattr(scale, "BUDGET", 0.0)  # one repeat each
    bench = scale.open_bench(spec, path)
    try:
        for name, how, _, _ in scale.rows(bench):
            if "command" in name or "--version" in name:
                continue  # subprocesses: one below
            timing = how(bench)
            assert timing.runs >= 1 and math.isfinite(timing.median) and timing.median >= 0, name
        assert scale.command(bench, "--version").median > 0
        ours, without_runs, bare = scale.bytes_per_mention(bench)
        assert ours > without_runs > bare > 100
        assert bench.store.count_mentions() == 2000  # the collection cycle and the poll took theirs back
    finally:
        bench.store.close()
        bench.raw.close()
