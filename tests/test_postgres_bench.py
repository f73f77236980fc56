"""``bench/postgres.py`` on a tiny scale database: every figure is measured, on both backends, and the file stays as built."""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from bench import postgres
from bench.scale_data import Spec, build
from storage.pg import connect, migrate
from storage.pg.copy import plan
from tests.postgres import PostgresServer


def test_every_figure_is_measured_on_both_backends(
    tmp_path: Path, postgres_server: PostgresServer, postgres_url: str
) -> None:
    spec = Spec(2000, watches=5, days=2, run_watches=2)
    path = tmp_path / "tiny.db"
    build(path, spec.mentions, spec.watches, spec.days, run_watches=spec.run_watches, quiet=True)
    before = _counts(path, postgres_url)
    args = argparse.Namespace(ingest=300, page=100, keep=False)
    result = postgres.measure(spec, path, postgres_server.url("postgres"), None, args)

    assert result["migrate"]["mentions"] == 2000
    assert result["migrate"]["rows"] == sum(before.values())  # every table both schemas have
    assert result["migrate"]["copy_rows_per_s"] > 0 and result["migrate"]["command_rows_per_s"] > 0
    assert result["ingest"]["sqlite"] > 0 and result["ingest"]["postgresql"] > 0
    assert len(result["search"]) == 8
    for timings in result["search"].values():
        assert timings["sqlite"]["p95_ms"] > 0 and timings["postgresql"]["p95_ms"] > 0
    assert result["same_hits"] == 8
    assert _counts(path, postgres_url) == before  # the ingested mentions are gone again
    text = postgres.table([result])
    assert "ingest (mentions/s)" in text and "8/8" in text and "migrate: copy (rows/s)" in text
    with connect(postgres_server.url("postgres")) as conn:  # its database dropped at the end
        assert (
            conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'listener_bench%'").fetchall()
            == []
        )


def _counts(path: Path, url: str) -> dict[str, int]:
    """Rows of each table ``listener migrate`` copies (those both schemas have)."""
    src = sqlite3.connect(path)
    try:
        with connect(url) as conn:
            migrate(conn)
            tables = [p.table for p in plan(src, conn)]
        return {t: src.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        src.close()
