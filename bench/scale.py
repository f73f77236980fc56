"""Every hot path at 1M and 10M mentions with 500 watches (issue #20), against raw SQL.

Builds (once, cached by parameters) realistic databases through the storage API
(``bench/scale_data.py``), then measures each hot path in process (wall median and
p95 of several repeats, CPU median), the same question asked in hand-written SQL on
the same file, whole commands as subprocesses, and bytes per mention against the
bare schema. Prints one table: 1M, 10M, ratio, the issue's target, pass or fail
(judged on the largest size; with two sizes, also growth <= 1.5x).

    python bench/scale.py --build-only --n 1000000     # build the 1M database, then stop
    python bench/scale.py                              # measure on every cached default size
    python bench/scale.py --n 1000000 --json

Databases live in /work/scale-cache/ (``--cache``), named ``m<mentions>-w<watches>-d<days>-s<seed>.db``;
"now" is ``scale_data.END``, the end of their 30 days (``LISTENER_CLOCK`` for the commands).
The alert poll records what it finds (as the daemon would); the collection cycle's
mentions are removed again after each repeat (``forget_author``), so the file stays as built.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.scale_data import END, SEARCHING, Spec, build, cache_name, catch_up, watch_list
from listener.alerts.evaluate import evaluate
from listener.alerts.memory import SeriesMemory
from listener.alerts.settings import AlertSettings
from listener.digest.build import DigestOptions, build_digest
from listener.model import Mention, Page, Watch
from listener.query import handle_key, parse, to_fts, tokens
from listener.stories import answer_first
from storage import SearchFilters, Store
from storage.rows import NO_FILTERS, StoryFilters

DEFAULT_CACHE = Path("/work/scale-cache")
SIZES = (1_000_000, 10_000_000)
STEP = timedelta(minutes=5)  # the detectors' bucket: one new bucket per steady-state alert pass
BUDGET = 20.0  # seconds of repeats per measurement at most (at least one repeat)
ROOT = Path(__file__).resolve().parents[1]
RUN_HISTORY = ("runs", "run_hours", "run_days", "source_health")  # left out of "without runs"


@dataclass(frozen=True, slots=True)
class Timing:
    """Milliseconds: wall median and p95 over ``runs`` repeats, CPU median."""

    median: float
    p95: float
    cpu: float
    runs: int


@dataclass
class Bench:
    """One database and what the measurements ask of it."""

    spec: Spec
    path: Path
    store: Store
    raw: sqlite3.Connection
    watches: list[Watch]
    sources: list[tuple[str, str]]
    config: Path
    heavy_author: str = ""
    single_author: str = ""
    # The digest's own accounts: (network, lowercased handle, author key).
    own: list[tuple[str, str, str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def timed(
    work: Callable[[], object],
    repeats: int = 7,
    budget: float | None = None,
    at_least: int = 1,
    setup: Callable[[], object] | None = None,
) -> Timing:
    """Run ``work`` ``repeats`` times, or ``at_least`` times once they took ``budget`` s (default ``BUDGET``).

    ``setup`` runs before each repeat, untimed and outside the budget: a slow setup (the
    alert poll stores five minutes of mentions first) must not leave one repeat to judge.
    """
    budget = BUDGET if budget is None else budget
    walls: list[float] = []
    cpus: list[float] = []
    while len(walls) < repeats and (len(walls) < at_least or sum(walls) / 1000 < budget):
        if setup is not None:
            setup()
        w0, c0 = time.perf_counter(), time.process_time()
        work()
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
    walls.sort()
    p95 = walls[min(len(walls) - 1, round(0.95 * (len(walls) - 1)))]
    return Timing(statistics.median(walls), p95, statistics.median(cpus), len(walls))


# -- setup ------------------------------------------------------------------------


def cached(spec: Spec, cache: Path) -> Path:
    """The database for ``spec``, built first if the cache lacks it."""
    path = cache / cache_name(spec)
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        print(f"building {path} ...", file=sys.stderr, flush=True)
        build(
            path,
            spec.mentions,
            spec.watches,
            spec.days,
            spec.seed,
            run_watches=spec.run_watches,
            scored=spec.scored,
        )
    store = Store.open(path, create=False)
    try:  # a cache built before the catch-up step gets it now (a no-op on a caught-up one)
        caught = catch_up(store, spec.seed)
    finally:
        store.close()
    if caught:
        print(f"caught up: {caught:,} mentions scored (all but the last hour's)", file=sys.stderr, flush=True)
    return path


def write_config(spec: Spec, path: Path) -> Path:
    """A config naming the database's watches and the 7 searching networks (for whole commands)."""
    lines = [f'[database]\npath = "{path}"\n']
    for name, query, _, _ in watch_list(spec.watches):
        lines.append(f"[[watches]]\nname = {json.dumps(name)}\nquery = {json.dumps(query)}\n")
    lines += [f"[networks.{network}]\n" for network in SEARCHING]
    config = path.with_suffix(".toml")
    config.write_text("\n".join(lines), encoding="utf-8")
    return config


def open_bench(spec: Spec, path: Path) -> Bench:
    chosen = watch_list(spec.watches)
    watches = [Watch(name, query, parse(query)) for name, query, _, _ in chosen]
    raw = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    bench = Bench(spec, path, Store.open(path, create=False), raw, watches,
                  [(n, w.name) for w in watches for n in SEARCHING], write_config(spec, path))  # fmt: skip
    # Two authors for author:, found once: the busiest one, and one with a single post.
    busiest = "SELECT handle FROM authors ORDER BY mentions DESC LIMIT 1"
    bench.heavy_author = raw.execute(busiest).fetchone()[0]
    bench.single_author = raw.execute("SELECT handle FROM authors WHERE mentions = 1 LIMIT 1").fetchone()[0]
    # The manager's digest always has own accounts: the two busiest authors of networks one
    # posts and replies from (not a feed), so that their posts, replies and threads are real.
    bench.own = raw.execute(
        "SELECT network, lower(handle), author_key FROM authors WHERE network NOT IN ('rss', 'hackernews') "
        "ORDER BY mentions DESC, network, author_key LIMIT 2"
    ).fetchall()
    return bench


# -- hot paths, through listener ------------------------------------------------


def cold_poll(b: Bench) -> Timing:
    """An alert pass over every watch and source that reads and scores every series (a daemon's first)."""
    settings = AlertSettings()
    return timed(lambda: evaluate(b.store, b.watches, b.sources, settings, END), repeats=3)


def alert_poll(b: Bench) -> Timing:
    """The daemon's alert pass after each collection: every watch and source, its series kept.

    The memory is warmed by one pass five minutes before ``END``; then each repeat stores
    the next five minutes of mentions (the database's average rate, across the watches,
    scored as the scorer would), moves the clock five minutes and times the pass. The
    mentions are erased afterwards, so the file stays as built.
    """
    settings, memory = AlertSettings(), SeriesMemory()
    per_bucket = max(1, b.spec.mentions // (b.spec.days * 288))
    names = [w.name for w in b.watches]
    rng = random.Random(0)
    now = END - STEP
    evaluate(b.store, b.watches, b.sources, settings, now, memory=memory)
    handle = f"scalepoll_{os.getpid()}"

    def arrive() -> None:
        nonlocal now
        mentions = [
            Mention(network="x", native_id=f"{handle}-{now.timestamp():.0f}-{i}",
                    created_at=now + timedelta(seconds=rng.random() * STEP.total_seconds()),
                    text=f"{names[i % len(names)].split('-')[0]} new post price support", author_handle=handle,
                    author_id=handle, language="en")
            for i in range(per_bucket)
        ]  # fmt: skip
        matches = {
            m.native_id: [names[min(int(rng.paretovariate(1.2)) - 1, len(names) - 1)]] for m in mentions
        }
        b.store.save_page(
            Page(network="x", watch=names[0], mentions=mentions, matches=matches), now=now + STEP
        )
        new = b.store.conn.execute("SELECT id FROM mentions WHERE network = 'x' AND author_handle = ? "
                                   "AND sentiment_label IS NULL", (handle,)).fetchall()  # fmt: skip
        b.store.set_sentiment([(i, "neutral", 0.0, "bench", "en") for (i,) in new])
        now += STEP

    timing = timed(
        lambda: evaluate(b.store, b.watches, b.sources, settings, now, memory=memory), 7, setup=arrive
    )
    b.extra["poll_memory_mb"] = memory.nbytes / 1e6
    b.store.forget_author("x", handle)
    return timing


def collection_cycle(b: Bench) -> Timing:
    """Bookkeeping of one source's collection: start a run, save a page of 100 new mentions, finish it."""
    top = [w.name for w in b.watches[:3]]
    word = top[0].split("-")[0]
    counter = iter(range(10**9))

    def once() -> None:
        k = next(counter)
        handle = f"scalebench_{os.getpid()}_{k}"
        mentions = [
            Mention(
                network="x",
                native_id=f"scalebench-{os.getpid()}-{k}-{i}",
                created_at=END - timedelta(seconds=i),
                text=f"{word} new post number {i} from the benchmark, price support",
                author_handle=handle,
                author_id=handle,
                language="en",
            )
            for i in range(100)
        ]
        page = Page(network="x", watch=top[0], mentions=mentions,
                    matches={m.native_id: top[: 1 + i % 3] for i, m in enumerate(mentions)})  # fmt: skip
        run = b.store.start_run("x", top[0], now=END)
        result = b.store.save_page(page, now=END)
        b.store.finish_run(run, result, 100, now=END)

    timing = timed(once)
    for k in range(timing.runs):
        b.store.forget_author("x", f"scalebench_{os.getpid()}_{k}")
    return timing


def scoring_check(b: Bench) -> Timing:
    """What every cycle asks before scoring: is anything unscored (``store.unscored(1)``)."""
    return timed(lambda: b.store.unscored(1), repeats=20)


def scoring_backlog(b: Bench) -> Timing:
    """How many mentions wait for scoring, and since when (``listener status`` shows it)."""
    return timed(lambda: b.store.scoring_backlog())


def search_queries(b: Bench) -> dict[str, tuple[str, SearchFilters]]:
    """The query shapes of the issue, on the most mentioned brands, as ``listener search`` runs them."""
    w0, w1 = (w.name.split("-")[0] for w in b.watches[:2])
    phrase = b.watches[1].query.split(" OR ")[0]
    day = SearchFilters(since=END - timedelta(hours=24))
    return {
        "phrase": (phrase, SearchFilters()),
        "brand word": (w0, SearchFilters()),
        "OR/NOT": (f"({w0} OR {w1}) -promo", SearchFilters()),
        "hashtag": (f"#{w1}", SearchFilters()),
        "lang:": (f"{w0} lang:it", SearchFilters()),
        "author: (busy)": (f"author:{b.heavy_author}", SearchFilters()),
        "author: (one post)": (f"author:{b.single_author}", SearchFilters()),
        "--since 24h": (w0, day),
    }


def search(b: Bench, query: str, filters: SearchFilters) -> Timing:
    """Newest 50 matches, through ``Store.search`` (what ``listener search`` calls)."""
    node = parse(query)
    return timed(lambda: b.store.search(node, filters, 50), repeats=15)


def status(b: Bench) -> Timing:
    """What ``listener status`` reads: per-source status, total, scoring backlog, the schedule."""

    def once() -> None:
        b.store.status(END, expected=b.sources)
        b.store.count_mentions()
        b.store.scoring_backlog()
        b.store.jobs()

    return timed(once, repeats=5)


def alerts_list(b: Bench) -> Timing:
    """``listener alerts``: the latest 50."""
    return timed(lambda: b.store.alerts.list(limit=50), repeats=15)


def digest(b: Bench) -> Timing:
    """The digest of the last full day, every watch and source, two busy own accounts."""
    options = DigestOptions(watches=tuple(w.name for w in b.watches), sources=tuple(b.sources),
                            own_accounts=tuple((network, handle) for network, handle, _ in b.own))  # fmt: skip
    day = (END - timedelta(days=1)).date()
    return timed(lambda: build_digest(b.store, options, day), repeats=5)


def inbox(b: Bench, days: int = 7, filters: StoryFilters = NO_FILTERS) -> Timing:
    """The inbox's list (``listener serve``): the stories to answer first of the last ``days``."""
    own = tuple((network, handle) for network, handle, _ in b.own)
    start = END - timedelta(days=days)
    return timed(lambda: answer_first(b.store, own, start, END, END, "Europe/Rome", filters), repeats=5)


def watches(b: Bench) -> Timing:
    """``listener watches``: each watch with its mentions, all time and in 24 h."""
    return timed(lambda: b.store.watches(END), repeats=5)


# -- the same questions in hand-written SQL ---------------------------------------

_COLS = "m.id, m.created_at, m.network, m.native_id, m.author_handle, m.text, m.url, m.language, m.sentiment_label"


def raw_search(b: Bench, query: str, filters: SearchFilters) -> Timing:
    """FTS MATCH newest rowid first, stopping at 50 (ids follow collection time)."""
    node = parse(query)
    conn = b.raw
    if query.startswith("author:"):
        handle = handle_key(query.removeprefix("author:"))
        sql = (f"SELECT {_COLS} FROM mentions_fts f JOIN mentions m ON m.id = f.rowid "
               "WHERE mentions_fts MATCH ? AND lower(m.author_handle) = ? ORDER BY f.rowid DESC LIMIT 50")  # fmt: skip
        params: tuple[Any, ...] = (f'author_handle : "{" ".join(tokens(handle))}"', handle)
    elif " lang:" in query:
        word, lang = query.split(" lang:")
        sql = (f"SELECT {_COLS} FROM mentions_fts f JOIN mentions m ON m.id = f.rowid "
               "WHERE mentions_fts MATCH ? AND m.language = ? ORDER BY f.rowid DESC LIMIT 50")  # fmt: skip
        params = (to_fts(parse(word)), lang)
    else:
        since = filters.since.isoformat() if filters.since else ""
        sql = (f"SELECT {_COLS} FROM mentions_fts f JOIN mentions m ON m.id = f.rowid "
               "WHERE mentions_fts MATCH ? AND m.created_at >= ? ORDER BY f.rowid DESC LIMIT 50")  # fmt: skip
        params = (to_fts(node), since)
    return timed(lambda: conn.execute(sql, params).fetchall(), repeats=15)


def raw_scoring_check(b: Bench) -> Timing:
    return timed(lambda: b.raw.execute(
        "SELECT id, text, language FROM mentions WHERE sentiment_label IS NULL ORDER BY id LIMIT 1"
    ).fetchall(), repeats=20)  # fmt: skip


def raw_status(b: Bench) -> Timing:
    """Latest run per source, one seek each in the runs index; 24 h mentions per watch from the 5-minute buckets."""
    since = int((END - timedelta(hours=24)).timestamp()) // 300
    sources = json.dumps(b.sources)
    latest = (
        "SELECT s.value ->> 0, s.value ->> 1, (SELECT max(started_at) FROM runs r "
        "WHERE r.network = s.value ->> 0 AND r.watch = s.value ->> 1) FROM json_each(?) s"
    )

    def once() -> None:
        b.raw.execute(latest, (sources,)).fetchall()
        b.raw.execute(
            "SELECT watch_id, network, sum(volume) FROM watch_buckets WHERE bucket >= ? GROUP BY 1, 2",
            (since,),
        ).fetchall()

    return timed(once, repeats=5)


def raw_alerts(b: Bench) -> Timing:
    return timed(
        lambda: b.raw.execute("SELECT * FROM alerts ORDER BY updated_at DESC LIMIT 50").fetchall(), 15
    )


def raw_digest(b: Bench) -> Timing:
    """The day's totals by network and sentiment, and its 150 most engaged negative and other
    mentions (what the digest's stories start from), from ``mentions_day`` in plain SQL."""
    start, end = (END - timedelta(days=1)).isoformat(), END.isoformat()
    totals = ("SELECT network, sentiment_label, count(*) FROM mentions WHERE created_at >= ? AND created_at < ? "
              "GROUP BY 1, 2")  # fmt: skip
    top = ("SELECT id FROM mentions WHERE created_at >= ? AND created_at < ? AND (sentiment_label IS 'negative') = ? "
           "ORDER BY coalesce(like_count, 0) + coalesce(repost_count, 0) + coalesce(reply_count, 0) "
           "+ coalesce(quote_count, 0) DESC LIMIT 150")  # fmt: skip

    def once() -> None:
        b.raw.execute(totals, (start, end)).fetchall()
        for negative in (1, 0):
            b.raw.execute(top, (start, end, negative)).fetchall()

    return timed(once, repeats=5)


def raw_watches(b: Bench) -> Timing:
    """Mentions per watch from the watch index (all time only)."""
    sql = "SELECT w.name, w.query, (SELECT count(*) FROM mention_watches mw WHERE mw.watch_id = w.id) FROM watches w"
    return timed(lambda: b.raw.execute(sql).fetchall(), repeats=5)


# -- whole commands and disk ------------------------------------------------------


def command(b: Bench, *args: str) -> Timing:
    """``listener --config C --db D <args>`` as a subprocess, clock at ``END``; wall only."""
    env = {**os.environ, "LISTENER_CLOCK": f"{END.isoformat()}@0x0"}
    argv = [sys.executable, "-m", "listener.cli", "--config", str(b.config), "--db", str(b.path), *args]

    def once() -> None:
        subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True)

    timing = timed(once, repeats=5, at_least=1 if BUDGET == 0 else 3)
    return Timing(timing.median, timing.p95, float("nan"), timing.runs)


def bytes_per_mention(b: Bench, sample: int = 1_000_000) -> tuple[float, float, float]:
    """Bytes per mention: (the whole file, the file without the run history, the bare schema).

    The bare schema is the mentions table alone with its primary key and the
    unique (network, native_id) constraint, measured on a copy of up to ``sample``
    rows (cached beside the database). The run history grows with sources and time,
    not mentions (500 watches polled every 15 minutes for 30 days are ~10M runs), so
    the middle figure leaves out exactly the tables that record collector runs, with
    their indexes: ``runs``, its per-hour and per-day sums (``run_hours``, ``run_days``)
    and the per-source summary (``source_health``). Everything else is counted.
    """
    side = b.path.with_suffix(".bare.json")
    mentions = b.store.count_mentions()
    page = b.raw.execute("PRAGMA page_size").fetchone()[0]
    used = (
        b.raw.execute("PRAGMA page_count").fetchone()[0]
        - b.raw.execute("PRAGMA freelist_count").fetchone()[0]
    )
    ours = used * page / mentions
    runs = sum(
        b.raw.execute(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = ? AND aggregate = TRUE", (name,)
        ).fetchone()[0]
        for (name,) in b.raw.execute(
            "SELECT name FROM sqlite_master WHERE tbl_name IN (SELECT value FROM json_each(?)) AND rootpage > 0",
            (json.dumps(RUN_HISTORY),),
        )
    )
    without_runs = (used * page - runs) / mentions
    if side.exists():
        return ours, without_runs, float(json.loads(side.read_text())["bare"])
    table_sql = b.raw.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'mentions'"
    ).fetchone()[0]
    bare_path = b.path.with_suffix(".bare.tmp")
    bare_path.unlink(missing_ok=True)
    conn = sqlite3.connect(bare_path)
    try:
        conn.execute(table_sql)
        conn.execute("ATTACH ? AS src", (f"{b.path.as_uri()}?mode=ro",))
        conn.execute("INSERT INTO main.mentions SELECT * FROM src.mentions ORDER BY id LIMIT ?", (sample,))
        conn.commit()
        rows = conn.execute("SELECT count(*) FROM main.mentions").fetchone()[0]
        conn.execute("DETACH src")
        conn.execute("VACUUM")
        bare = (
            conn.execute("PRAGMA page_count").fetchone()[0]
            * conn.execute("PRAGMA page_size").fetchone()[0]
            / rows
        )
    finally:
        conn.close()
        bare_path.unlink(missing_ok=True)
    side.write_text(json.dumps({"bare": bare, "rows": rows}))
    return ours, without_runs, bare


# -- the table --------------------------------------------------------------------

# (row, how to measure, target in ms or None, which figure the target reads)
Row = tuple[str, Callable[[Bench], Timing], float | None, str]


def rows(b: Bench) -> list[Row]:
    out: list[Row] = [
        ("alert poll, all sources", alert_poll, 1000, "median"),
        ("  first pass (no memory)", cold_poll, None, "median"),
        ("collection cycle (100 new)", collection_cycle, None, "median"),
        # Idle only when every mention is scored (--scored 1): else unscored(1) finds a row at once.
        ("scoring idle check", scoring_check, 10, "median")
        if b.spec.scored >= 1
        else (
            f"scoring check ({1 - b.spec.scored:.0%} of the last hour unscored)",
            scoring_check,
            None,
            "median",
        ),
        ("  raw SQL", raw_scoring_check, None, "median"),
        ("scoring backlog (status)", scoring_backlog, None, "median"),
    ]
    for shape, (query, filters) in search_queries(b).items():
        target = 5.0 if shape.startswith("author:") else 50.0
        out.append((f"search {shape}", partial(search, query=query, filters=filters), target, "p95"))
        out.append(("  raw SQL", partial(raw_search, query=query, filters=filters), None, "p95"))
    out += [
        ("status", status, 500, "median"),
        ("  raw SQL", raw_status, None, "median"),
        ("alerts", alerts_list, None, "median"),
        ("  raw SQL", raw_alerts, None, "median"),
        ("digest, one day", digest, 2000, "median"),
        ("  raw SQL (day totals, top engaged)", raw_digest, None, "median"),
        ("inbox, 7 days", inbox, 500, "median"),
        (
            "inbox, 1 day, one network",
            partial(inbox, days=1, filters=StoryFilters(network="x")),
            500,
            "median",
        ),
        (
            "inbox, 1 day, negative",
            partial(inbox, days=1, filters=StoryFilters(sentiment="negative")),
            500,
            "median",
        ),
        ("watches", watches, None, "median"),
        ("  raw SQL", raw_watches, None, "median"),
        (
            "`listener search` command",
            lambda b: command(b, "search", search_queries(b)["brand word"][0]),
            500,
            "median",
        ),
        ("`listener status` command", lambda b: command(b, "status"), 500, "median"),
        ("`listener --version`", lambda b: command(b, "--version"), 300, "median"),
    ]
    return out


def measure(spec: Spec, path: Path, only: set[str] | None = None) -> dict[str, Any]:
    b = open_bench(spec, path)
    results: dict[str, Any] = {"mentions": spec.mentions, "file": str(path), "rows": []}
    try:
        group = ""
        for name, how, target, which in rows(b):
            group = group if name.startswith("  ") else name  # a raw SQL row goes with the row above
            if only and not any(word in group for word in only):
                continue
            print(f"  {spec.mentions:,}: {name} ...", file=sys.stderr, flush=True)
            t = how(b)
            results["rows"].append({"name": name, "median_ms": t.median, "p95_ms": t.p95, "cpu_ms": t.cpu,
                                    "runs": t.runs, "target_ms": target, "judged_on": which})  # fmt: skip
        ours, without_runs, bare = bytes_per_mention(b)
        results["bytes_per_mention"] = ours
        results["bytes_per_mention_without_runs"] = without_runs
        results["bare_bytes_per_mention"] = bare
        results["poll_memory_mb"] = b.extra.get("poll_memory_mb", float("nan"))
    finally:
        b.store.close()
        b.raw.close()
    return results


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    cpu = "" if row["cpu_ms"] != row["cpu_ms"] else f" cpu {row['cpu_ms']:.1f}"
    return f"{row['median_ms']:.1f} p95 {row['p95_ms']:.1f}{cpu}"


def table(results: list[dict[str, Any]]) -> str:
    """Rows: hot paths; columns: each size, ratio last/first, target, pass/fail (ms)."""
    sizes = [
        f"{r['mentions'] // 1_000_000}M" if r["mentions"] >= 1_000_000 else f"{r['mentions']:,}"
        for r in results
    ]
    header = ["hot path (ms)", *sizes, "ratio" if len(results) > 1 else "", "target", "ok"]
    lines = [header]
    by_size = [{(i, row["name"]): row for i, row in enumerate(r["rows"])} for r in results]
    for i, first in enumerate(results[0]["rows"]):
        cells = [by.get((i, first["name"])) for by in by_size]
        ratio = ""
        verdict = ""
        which = "p95_ms" if first["judged_on"] == "p95" else "median_ms"
        if len(cells) > 1 and cells[0] and cells[-1] and cells[0][which] > 0:
            ratio = f"{cells[-1][which] / cells[0][which]:.2f}"
        target = first["target_ms"]
        if target is not None and cells[-1]:
            ok = cells[-1][which] < target and (not ratio or float(ratio) <= 1.5)
            verdict = "pass" if ok else "FAIL"
        lines.append([first["name"], *(_cell(c) for c in cells), ratio,
                      f"< {target:g} {first['judged_on']}" if target else "", verdict])  # fmt: skip
    bare = results[-1].get("bare_bytes_per_mention", 0.0)
    for label, key, judged in (("bytes per mention, whole file", "bytes_per_mention", False),
                               ("  without runs", "bytes_per_mention_without_runs", True),
                               ("  bare schema", "bare_bytes_per_mention", False)):  # fmt: skip
        bpm = [r.get(key, 0.0) for r in results]
        lines.append([label, *(f"{x:.0f}" for x in bpm), f"{bpm[-1] / bpm[0]:.2f}" if len(bpm) > 1 else "",
                      f"<= {1.2 * bare:.0f}" if judged else "",
                      ("pass" if bpm[-1] <= 1.2 * bare else "FAIL") if judged else ""])  # fmt: skip
    memory = [r.get("poll_memory_mb", float("nan")) for r in results]
    lines.append(["alert poll: series kept (MB)", *(f"{m:.0f}" for m in memory), "", "", ""])
    widths = [max(len(str(line[c])) for line in lines) for c in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    )


def add_spec_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that name a cached database (``bench/postgres.py`` takes them too)."""
    parser.add_argument("--watches", type=int, default=500)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--scored", type=float, default=0.9, help="share of mentions scored (1.0: idle scorer)"
    )
    parser.add_argument("--run-watches", type=int, help="watches with a runs history (default: all)")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)


def specs_of(args: argparse.Namespace, sizes: list[int] | None) -> list[Spec]:
    """The databases of these sizes; without sizes, those of ``SIZES`` already built (10M takes hours), or 1M."""
    specs = [
        Spec(n, args.watches, args.days, args.seed, args.scored, args.run_watches) for n in (sizes or SIZES)
    ]
    if sizes:
        return specs
    return [s for s in specs if (args.cache / cache_name(s)).exists()] or specs[:1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--n", type=int, action="append", help="mentions (repeatable; default: 1M and 10M if cached)"
    )
    add_spec_arguments(parser)
    parser.add_argument("--build-only", action="store_true", help="build the databases, measure nothing")
    parser.add_argument("--only", action="append", help="measure only rows whose name contains this")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.build_only:
        for spec in specs_of(args, args.n or SIZES):
            print(cached(spec, args.cache))
        return 0
    specs = specs_of(args, args.n)
    results = [measure(s, cached(s, args.cache), set(args.only or ())) for s in specs]
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
