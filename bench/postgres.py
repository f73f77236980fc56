"""SQLite and PostgreSQL side by side at 1M and 10M mentions (issue #22), in one run.

For each size, the cached scale database (``bench/scale_data.py`` in ``/work/scale-cache``,
found and built as ``bench/scale.py`` does) is moved into a fresh PostgreSQL database by
``listener migrate`` itself, run as a subprocess: its copy rate (rows/s) and the whole
command's, verification included. Both backends then hold the same rows, and each is measured
the same way; SQLite, measured in the same run, is the baseline (the ratio is PostgreSQL's
figure over SQLite's):

- ingest: ``--ingest`` new mentions (synthetic, from ``bench/scale_data.py``'s generator) in
  pages of ``--page`` with their watch matches, through ``save_page``, one page per
  transaction, as the daemon stores them: mentions/s. They are removed afterwards
  (``forget_author``), so the cached file stays as built.
- search: the query shapes of ``bench/scale.py`` (``search_queries``), newest 50, through
  each store's ``search``: p95 and median of 15 repeats (``-`` while the PostgreSQL backend
  has no ``search``).

PostgreSQL is a throwaway server of its own (``tests/postgres.py``'s helpers: ``initdb`` into
``$TMPDIR``, a unix socket, fsync off as in the tests, ``shared_buffers`` raised; 10M mentions
take ~30 GB there), or ``--url`` of an existing server's maintenance database, where a
``listener_bench_<n>`` database is created and dropped (``--password-env`` names the password's
variable). Ingest compares fsync-off PostgreSQL with SQLite's WAL at ``synchronous = NORMAL``
(no fsync per commit either).

    python bench/postgres.py --sizes 10000 --watches 20 --days 2 --run-watches 5   # a quick look
    python bench/postgres.py --sizes 1000000 --json
    python bench/postgres.py                      # 1M and 10M, whichever are cached
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale import Timing, add_spec_arguments, cached, open_bench, search_queries, specs_of, timed
from bench.scale_data import Spec, _mentions, watch_list
from listener.model import Mention, Page
from listener.query import parse
from storage.pg import connect
from storage.pg.store import PgStore

ROOT = Path(__file__).resolve().parents[1]
SERVER_SETTINGS = {"shared_buffers": "1GB", "maintenance_work_mem": "512MB", "max_wal_size": "8GB",
                   "work_mem": "32MB", "effective_cache_size": "4GB"}  # fmt: skip


# -- the PostgreSQL server ---------------------------------------------------------


@contextmanager
def own_server() -> Iterator[str]:
    """A throwaway server (tests/postgres.py) with benchmark settings; yields its maintenance URL."""
    from tests.postgres import find_bindir, start, stop

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL not found (Debian: apt-get install postgresql), or give --url")
    server = start(bindir)
    try:
        with connect(server.url("postgres")) as conn:
            for name, value in SERVER_SETTINGS.items():
                conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
        data, log = str(server.folder / "data"), str(server.folder / "server.log")
        server.run("pg_ctl", "-D", data, "-l", log, "-w", "restart")  # the start's options kept
        yield server.url("postgres")
    finally:
        stop(server)


def with_database(url: str, name: str) -> str:
    """``url`` (a maintenance database's) naming the database ``name`` instead."""
    return re.sub(r"(postgresql://[^/?]*/)[^?]*", lambda m: m.group(1) + name, url, count=1)


@contextmanager
def fresh_database(url: str, password: str | None, name: str, keep: bool) -> Iterator[str]:
    with connect(url, password) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        if not keep:
            with connect(url, password) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- measurements ------------------------------------------------------------------


def migrate(path: Path, url: str, password_env: str | None) -> dict[str, float]:
    """``listener migrate`` into the empty database ``url``: rows, copy rows/s, the whole command's rows/s."""
    argv = [sys.executable, "-m", "listener.cli", "--db", str(path), "migrate", "--to", url, "--json"]
    if password_env:
        argv += ["--password-env", password_env]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"listener migrate failed:\n{done.stderr}")
    copied = re.search(r"Copied ([\d,]+) rows in ([\d.]+) s", done.stderr)
    if copied is None:
        raise SystemExit(f"listener migrate printed no 'Copied' line:\n{done.stderr}")
    rows, seconds = int(copied.group(1).replace(",", "")), float(copied.group(2))
    tables = {t["table"]: t["rows_postgresql"] for t in json.loads(done.stdout)}
    return {"rows": rows, "copy_s": seconds, "copy_rows_per_s": rows / max(seconds, 1e-9),
            "command_s": wall, "command_rows_per_s": rows / wall, "mentions": tables.get("mentions", 0),
            "tables": len(tables)}  # fmt: skip


def ingest_pages(spec: Spec, count: int, page: int, tag: str) -> list[Page]:
    """``count`` new mentions from the scale generator, in pages of one network each, with their matches.

    Native ids and authors are this run's own (``tag``): new to the database, and removable
    afterwards author by author. Every store gets the same pages.
    """
    rng = random.Random(spec.seed + 99)
    fresh = Spec(count, spec.watches, spec.days, spec.seed + 99)
    buffers: dict[str, list[tuple[Mention, list[str]]]] = {}
    pages: list[Page] = []
    for i, (m, names) in enumerate(_mentions(fresh, rng, watch_list(spec.watches))):
        handle = f"{tag}_{i % 50}"
        m = replace(m, native_id=f"{tag}-{m.native_id}", author_handle=handle, author_id=handle)
        items = buffers.setdefault(m.network, [])
        items.append((m, names))
        if len(items) == page:
            pages.append(_page(m.network, items))
            items.clear()
    pages += [_page(network, items) for network, items in buffers.items() if items]
    return pages


def _page(network: str, items: list[tuple[Mention, list[str]]]) -> Page:
    return Page(network=network, watch=items[0][1][0], mentions=[m for m, _ in items],
                matches={m.native_id: names for m, names in items})  # fmt: skip


def ingest(store: Any, pages: list[Page], tag: str) -> float:
    """Mentions/s through ``save_page``, one page per transaction; the mentions are forgotten afterwards."""
    started = time.perf_counter()
    new: int = sum(store.save_page(p).new for p in pages)
    seconds = time.perf_counter() - started
    networks = {p.network for p in pages}
    for network in networks:
        for k in range(50):
            store.forget_author(network, f"{tag}_{k}")
    if new != sum(len(p.mentions) for p in pages):
        raise SystemExit(f"ingest stored {new} new mentions of {sum(len(p.mentions) for p in pages)}")
    return new / seconds


def searches(store: Any, queries: dict[str, tuple[str, Any]]) -> dict[str, Timing | None]:
    """Each query shape's timing on ``store`` (None where it has no ``search`` yet)."""
    if not hasattr(store, "search"):
        return dict.fromkeys(queries)
    return {shape: timed(_newest(store, q, f), repeats=15) for shape, (q, f) in queries.items()}


def _newest(store: Any, query: str, filters: Any) -> Callable[[], object]:
    node = parse(query)
    return lambda: store.search(node, filters, 50)


def same_hits(sqlite: Any, pg: Any, queries: dict[str, tuple[str, Any]]) -> int | None:
    """How many query shapes find the same 50 mentions, in the same order, on both (None: no search yet)."""
    if not hasattr(pg, "search"):
        return None
    ids = [
        [[h.id for h in store.search(parse(q), f, 50)] for store in (sqlite, pg)] for q, f in queries.values()
    ]
    return sum(a == b for a, b in ids)


def measure(
    spec: Spec, path: Path, url: str, password_env: str | None, args: argparse.Namespace
) -> dict[str, Any]:

    def say(what: str) -> None:
        print(f"  {spec.mentions:,}: {what} ...", file=sys.stderr, flush=True)

    password = os.environ.get(password_env) if password_env else None
    result: dict[str, Any] = {"mentions": spec.mentions, "file": str(path)}
    with fresh_database(url, password, f"listener_bench_{spec.mentions}", args.keep) as target:
        say("listener migrate")
        result["migrate"] = migrate(path, target, password_env)
        bench = open_bench(spec, path)
        pg = PgStore.open(target, password)
        try:
            queries = search_queries(bench)
            tag = f"pgbench{os.getpid()}"
            pages = ingest_pages(spec, args.ingest, args.page, tag)
            say(f"ingest {args.ingest:,} mentions, SQLite")
            result["ingest"] = {"sqlite": ingest(bench.store, pages, tag)}
            say(f"ingest {args.ingest:,} mentions, PostgreSQL")
            result["ingest"]["postgresql"] = ingest(pg, pages, tag)
            say("search")
            ours, theirs = searches(bench.store, queries), searches(pg, queries)
            result["search"] = {
                shape: {"sqlite": _timing(ours[shape]), "postgresql": _timing(theirs[shape])}
                for shape in queries
            }
            result["same_hits"] = same_hits(bench.store, pg, queries)
        finally:
            pg.close()
            bench.store.close()
            bench.raw.close()
    return result


def _timing(t: Timing | None) -> dict[str, float] | None:
    return None if t is None else {"median_ms": t.median, "p95_ms": t.p95, "runs": t.runs}


# -- the table ----------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    """Rows: what is measured; per size: SQLite, PostgreSQL and PostgreSQL / SQLite."""
    header = ["measure"]
    for r in results:
        size = f"{r['mentions'] // 1_000_000}M" if r["mentions"] >= 1_000_000 else f"{r['mentions']:,}"
        header += [f"{size} SQLite", f"{size} PostgreSQL", "ratio"]
    lines = [
        header,
        _row(
            "ingest (mentions/s)",
            [(r["ingest"]["sqlite"], r["ingest"]["postgresql"]) for r in results],
            "{:,.0f}",
        ),
    ]
    for shape in results[0]["search"]:
        cells = [
            (_p95(r["search"][shape]["sqlite"]), _p95(r["search"][shape]["postgresql"])) for r in results
        ]
        lines.append(_row(f"search {shape} (p95 ms)", cells, "{:.1f}"))
    lines.append(["search: shapes with the same hits", *(c for r in results for c in (
        "", "-" if r["same_hits"] is None else f"{r['same_hits']}/{len(r['search'])}", ""))])  # fmt: skip
    lines.append(_row("migrate: rows copied", [(None, r["migrate"]["rows"]) for r in results], "{:,.0f}"))
    lines.append(
        _row("migrate: copy (rows/s)", [(None, r["migrate"]["copy_rows_per_s"]) for r in results], "{:,.0f}")
    )
    lines.append(_row("migrate: whole command, verified (rows/s)",
                      [(None, r["migrate"]["command_rows_per_s"]) for r in results], "{:,.0f}"))  # fmt: skip
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines)


def _p95(timing: dict[str, float] | None) -> float | None:
    return None if timing is None else timing["p95_ms"]


def _row(name: str, cells: list[tuple[float | None, float | None]], fmt: str) -> list[str]:
    out = [name]
    for sqlite, pg in cells:
        ratio = f"{pg / sqlite:.2f}" if sqlite and pg is not None else ""
        out += ["-" if sqlite is None else fmt.format(sqlite), "-" if pg is None else fmt.format(pg), ratio]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="mentions (default: 1M and 10M, whichever are cached)"
    )
    add_spec_arguments(parser)
    parser.add_argument("--ingest", type=int, default=20_000, help="mentions stored for the ingest rate")
    parser.add_argument("--page", type=int, default=100, help="mentions per page (a collector's page)")
    parser.add_argument(
        "--url", help="an existing server's maintenance database (default: a server of our own)"
    )
    parser.add_argument("--password-env", help="the environment variable holding --url's password")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL databases (with --url)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    specs = specs_of(args, args.sizes)
    paths = [cached(s, args.cache) for s in specs]
    with own_server() if args.url is None else _given(args.url) as url:
        results = [measure(s, p, url, args.password_env, args) for s, p in zip(specs, paths, strict=True)]
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    sys.exit(main())
