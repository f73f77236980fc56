"""Storage: no duplicates, edits kept, pages atomic, search by accents, kept counts.

The cases that take ``backend`` run on SQLite and PostgreSQL (tests/backends.py); the rest are
SQLite's own (files, WAL, migrations, FTS5) or wait for the PostgreSQL backend to have the method.
The first cases of the storage contract are in tests/test_storage_contract.py.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listener.errors import QueryError, StorageError
from listener.model import Mention, Page
from listener.query import parse
from storage import SearchFilters, Store
from storage.interfaces import WatchRunStore
from storage.migrations import MIGRATIONS, SCHEMA_VERSION, load, migrate
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def mention(native_id: str, text: str = "Caffè Aurora è ottimo", **extra: object) -> Mention:
    return Mention(network="x", native_id=native_id, text=text, created_at=T0, **extra)  # type: ignore[arg-type]


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchall()


def test_the_full_text_index_follows_new_mentions_edits_and_failed_pages(store: Store, db_path: Path) -> None:
    """SQLite's FTS5 table, kept by triggers (the rest of these cases: tests/test_storage_contract.py)."""
    page = Page("x", "brand", [mention("1"), mention("2"), mention("2")], cursor="2")
    store.save_page(page)
    store.save_page(page)
    assert rows(db_path, "SELECT count(*) FROM mentions_fts_docsize") == [(2,)]
    store.save_page(Page("x", "brand", [mention("1", "seconda versione")]))
    assert [h.text for h in store.search(parse("seconda"), SearchFilters())] == ["seconda versione"]
    assert [h.native_id for h in store.search(parse("ottimo"), SearchFilters())] == [
        "2"
    ]  # 1's old text is gone
    unstorable = mention("3", raw={"payload": float("nan")})  # NaN is not valid JSON: CHECK fails
    with pytest.raises(sqlite3.IntegrityError):
        store.save_page(Page("x", "brand", [mention("4"), unstorable], cursor="4"))
    assert rows(db_path, "SELECT count(*) FROM mentions_fts_docsize") == [(2,)]


def test_a_page_of_one_network_cannot_carry_another_networks_mention() -> None:
    with pytest.raises(ValueError, match="a reddit page holds a x mention"):
        Page("reddit", "brand", [mention("1")])


def test_watch_matches_are_linked_and_counted(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora"), ("complaints", "rimborso")])
    page = Page(
        "x", "brand", [mention("1"), mention("2")], matches={"1": ["brand", "complaints"], "2": ["brand"]}
    )
    store.save_page(page, now=T0)
    store.save_page(page, now=T0)
    counts = {w.name: w.mentions for w in store.watches(now=T0 + timedelta(hours=1))}
    assert counts == {"brand": 2, "complaints": 1}
    assert len(store.search(None, SearchFilters(watch="complaints"))) == 1


@pytest.mark.parametrize(
    ("stored", "query"),
    [("Perché no?", "perche"), ("perche no", "perché"), ("Città di Torino", "citta"), ("CAFFÈ", '"caffe"')],
)
def test_search_ignores_accents_and_case_both_ways(backend: Backend, stored: str, query: str) -> None:
    store = backend.store
    store.save_page(Page("x", "brand", [mention("1", stored), mention("2", "altro testo")]))
    assert [h.text for h in store.search(parse(query), SearchFilters())] == [stored]


def test_search_filters_by_field_and_time(backend: Backend) -> None:
    store = backend.store
    store.save_page(
        Page(
            "x", "brand",
            [
                mention("1", "aurora", language="it", author_handle="Mario", url="https://www.aurora.it/a"),
                mention("2", "aurora", language="en", author_handle="jane", url="https://news.example/a"),
            ],
        )
    )  # fmt: skip
    store.save_page(Page("reddit", "brand", [Mention("reddit", "t3_a", "aurora", T0 - timedelta(days=3))]))

    def ids(q: str | None, **filters: object) -> set[str]:
        hits = store.search(parse(q) if q else None, SearchFilters(**filters))  # type: ignore[arg-type]
        return {f"{h.network}/{h.native_id}" for h in hits}

    assert ids("aurora lang:it") == {"x/1"}
    assert ids("author:@mario") == {"x/1"}
    assert ids("site:aurora.it") == {"x/1"}
    assert ids("aurora -network:x") == {"reddit/t3_a"}
    assert ids("aurora", since=T0 - timedelta(days=1)) == {"x/1", "x/2"}
    assert ids(None, network="reddit") == {"reddit/t3_a"}
    assert ids(None, lang="EN") == {"x/2"}


def test_hostile_strings_round_trip_and_search_inert(backend: Backend, shared_dir: Path) -> None:
    store = backend.store
    lines = (shared_dir / "data/hostile/blns.txt").read_text(encoding="utf-8").split("\n")
    hostile = [line for line in lines if line and not line.startswith("#")]
    page = Page("x", "brand", [mention(str(i), text) for i, text in enumerate(hostile)])
    assert store.save_page(page).new == len(hostile)
    for i, text in enumerate(hostile):
        assert store.versions("x", str(i)) == [text]
    assert store.search(parse('"DROP TABLE"'), SearchFilters())
    assert store.count_mentions() == len(hostile)
    for text in hostile:  # every line as a query that parses: a query, never an error of the database
        try:
            query = parse(text)
        except QueryError:
            continue
        assert isinstance(store.search(query, SearchFilters(), limit=5), list)


def test_wal_mode_lets_a_reader_in_while_a_writer_holds_the_lock(store: Store, db_path: Path) -> None:
    store.save_page(Page("x", "brand", [mention("1")]))
    assert rows(db_path, "PRAGMA journal_mode") == [("wal",)]
    store.conn.execute("BEGIN IMMEDIATE")
    try:
        assert rows(db_path, "SELECT count(*) FROM mentions") == [(1,)]
    finally:
        store.conn.execute("ROLLBACK")


def test_a_locked_database_gives_a_one_line_error_and_loses_nothing(db_path: Path) -> None:
    with Store.open(db_path) as first, Store.open(db_path, busy_timeout=0.05) as second:
        first.save_page(Page("x", "brand", [mention("1")], cursor="1"))
        first.conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(StorageError) as caught:
            second.save_page(Page("x", "brand", [mention("2")], cursor="2"))
        first.conn.execute("COMMIT")
        message = str(caught.value)
        assert "\n" not in message and "locked" in message and "retry" in message
        assert second.save_page(Page("x", "brand", [mention("2")], cursor="2")).new == 1
        assert second.get_cursor("x", "brand") == "2"


def test_migrations_upgrade_an_older_database_in_place(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    assert migrate(conn, MIGRATIONS[:1]) == 1
    conn.execute(
        "INSERT INTO mentions (network, native_id, text, created_at, collected_at, raw) "
        "VALUES ('x', '1', 'kept', '2026-01-01', '2026-01-01', '{}')"
    )
    newer = [*MIGRATIONS[:1], "ALTER TABLE mentions ADD COLUMN topic TEXT;"]
    assert migrate(conn, newer) == 1
    assert conn.execute("PRAGMA user_version").fetchone() == (2,)
    assert conn.execute("SELECT text, topic FROM mentions").fetchall() == [("kept", None)]
    assert migrate(conn, newer) == 0


def test_a_failing_migration_leaves_the_previous_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(conn, MIGRATIONS[:1])
    broken = [*MIGRATIONS[:1], "ALTER TABLE mentions ADD COLUMN a TEXT; ALTER TABLE nope ADD COLUMN b;"]
    with pytest.raises(sqlite3.OperationalError):
        migrate(conn, broken)
    assert conn.execute("PRAGMA user_version").fetchone() == (1,)
    assert "a" not in [row[1] for row in conn.execute("PRAGMA table_info(mentions)")]


def test_a_database_from_a_newer_listener_is_refused(db_path: Path) -> None:
    Store.open(db_path).close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this listener"):
        Store.open(db_path)


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_text("not sqlite at all, just some notes " * 100)
    with pytest.raises(StorageError, match=r"notes\.db.*not a database"):
        Store.open(bogus)


def test_status_reports_runs_errors_back_off_and_sources_that_never_ran(backend: Backend) -> None:
    from listener.model import SaveResult

    store = backend.store
    store.sync_watches([("brand", "aurora")])
    ok = store.start_run("x", "brand", now=T0)
    store.save_page(Page("x", "brand", [mention("1")], matches={"1": ["brand"]}), now=T0)
    store.finish_run(ok, SaveResult(new=1), fetched=1, now=T0 + timedelta(seconds=5))
    failed = store.start_run("x", "brand", now=T0 + timedelta(minutes=15))
    reset = T0 + timedelta(minutes=30)
    store.finish_run(
        failed, SaveResult(), 0, error="rate-limited", error_message="x (brand): rate limited (429)",
        rate_limit_reset=reset, now=T0 + timedelta(minutes=15),
    )  # fmt: skip
    rows = store.status(now=T0 + timedelta(minutes=20), expected=[("x", "brand"), ("reddit", "brand")])
    assert [(r.network, r.watch) for r in rows] == [("reddit", "brand"), ("x", "brand")]
    never, x = rows
    assert (never.last_run, never.last_success, never.mentions_24h) == (None, None, 0)
    assert x.last_run == "2026-11-20T09:45:00+00:00"
    assert x.last_success == "2026-11-20T09:30:05+00:00"
    assert x.mentions_24h == 1
    assert x.last_error == "x (brand): rate limited (429)"
    assert x.rate_limited_until == "2026-11-20T10:00:00+00:00"
    assert store.rate_limited_until("x", now=T0 + timedelta(minutes=20)) == reset
    assert store.rate_limited_until("x", now=T0 + timedelta(minutes=31)) is None
    assert store.fetched_since("x", T0 - timedelta(days=1)) == 1


def test_bucket_counts_kept_by_triggers_match_the_mentions(backend: Backend) -> None:
    import random

    store, rng = backend.store, random.Random(9)
    store.sync_watches([("brand", "a"), ("complaints", "b")])
    for round_ in range(5):
        mentions = [
            Mention(
                rng.choice(["x", "reddit"]),
                str(rng.randint(0, 300)),
                f"t{round_}",
                T0 + timedelta(minutes=rng.randint(0, 600)),
            )
            for _ in range(80)
        ]
        for network in ("x", "reddit"):
            page = [m for m in mentions if m.network == network]
            matches = {m.native_id: rng.sample(["brand", "complaints"], rng.randint(0, 2)) for m in page}
            store.save_page(Page(network, "brand", page, matches=matches))
        unscored = store.unscored(limit=40)
        store.set_sentiment(
            [(i, rng.choice(["negative", "neutral"]), 0.5, "m", None) for i, _, _ in unscored]
        )
        store.conn.execute(f"UPDATE mentions SET sentiment_label = NULL WHERE id % 7 = {round_}")
    matched = backend.rows(
        "SELECT w.name, m.network, m.created_at, m.sentiment_label FROM mentions m "
        "JOIN mention_watches mw ON mw.mention_id = m.id JOIN watches w ON w.id = mw.watch_id"
    )
    for watch in ("brand", "complaints"):
        for network in ("", "x"):
            counts: dict[int, list[int]] = {}
            for name, net, created, label in matched:
                if name == watch and network in ("", net):
                    at = int(datetime.fromisoformat(str(created)).timestamp()) // 900 * 900
                    bucket = counts.setdefault(at, [0, 0, 0])
                    bucket[0] += 1
                    bucket[1] += label == "negative"
                    bucket[2] += label is None
            expected = [(at, *counts[at]) for at in sorted(counts)]
            got = store.bucket_counts(watch, T0 - timedelta(days=1), T0 + timedelta(days=1), 900, network)
            assert got == expected, (watch, network)
    with pytest.raises(ValueError, match="use a multiple of 5 minutes"):
        store.bucket_counts("brand", T0, T0 + timedelta(hours=1), 600 + 1)


def test_upgrading_fills_bucket_counts_from_existing_mentions(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:2])
    conn.execute("INSERT INTO watches (name, query, created_at) VALUES ('brand', 'a', '2026-01-01')")
    conn.execute(
        "INSERT INTO mentions (network, native_id, text, created_at, collected_at, raw, sentiment_label) "
        "VALUES ('x', '1', 'a', '2026-11-20T09:31:00+00:00', '2026-11-20', '{}', 'negative')"
    )
    conn.execute("INSERT INTO mention_watches VALUES (1, 1)")
    conn.close()
    with Store.open(path) as store:
        assert store.bucket_counts("brand", T0 - timedelta(hours=1), T0 + timedelta(hours=1), 300) == [
            (int(T0.timestamp()), 1, 1, 0)
        ]


def test_forget_author_deletes_what_author_search_finds_at_sign_and_any_script(backend: Backend) -> None:
    store = backend.store
    handles = {"1": "@Mario", "2": "mario", "3": "MARIO", "4": "mariobros", "5": "ÉLODIE", "6": "@élodie"}
    others = [mention(i, author_handle=h) for i, h in handles.items()]
    others += [mention("7"), mention("8", author_id="42", author_handle="Someone")]
    elsewhere = Mention(network="y", native_id="1", text="ciao", created_at=T0, author_handle="@Mario")
    store.save_page(Page("x", "brand", others))
    store.save_page(Page("y", "brand", [elsewhere]))

    def left(network: str = "x") -> list[str]:
        return [h.native_id for h in store.search(None, SearchFilters(network=network), limit=100)]

    found = {h.native_id for h in store.search(parse("author:mario"), SearchFilters(network="x"))}
    assert store.forget_author("x", " Mario ") == len(found) == 3  # @Mario, mario, MARIO
    assert sorted(left()) == ["4", "5", "6", "7", "8"] and left("y") == ["1"]
    assert store.forget_author("x", "@Élodie") == 2  # SQLite's lower() folds ASCII only
    assert store.forget_author("x", "@") == store.forget_author("x", "") == 0  # never "every handle-less one"
    assert sorted(left()) == ["4", "7", "8"]
    assert store.forget_author("x", "42") == 1  # an author id, as the network gives it
    assert sorted(left()) == ["4", "7"]


def _raw_runs(backend: Backend) -> dict[tuple[str, str], list[tuple[object, ...]]]:
    """Every run per source, newest first, as the runs table holds them."""
    out: dict[tuple[str, str], list[tuple[object, ...]]] = {}
    for row in backend.rows("SELECT * FROM runs ORDER BY id DESC"):
        out.setdefault((str(row[1]), str(row[2])), []).append(row)
    return out


def _write_random_runs(store: WatchRunStore, seed: int) -> None:
    import random

    from listener.model import SaveResult

    rng = random.Random(seed)
    pending: list[tuple[int, datetime]] = []
    for step in range(300):
        at = T0 + timedelta(minutes=7 * step)
        network, watch = rng.choice(["x", "reddit"]), rng.choice(["brand", "rival", "@page"])
        pending.append((store.start_run(network, watch, now=at), at))
        while pending and rng.random() < 0.6:  # finished in any order; some never
            run_id, started = pending.pop(rng.randrange(len(pending)))
            error = rng.choice([None, None, "auth", "rate-limited", "unavailable"])
            reset = started + timedelta(minutes=rng.randrange(60)) if error == "rate-limited" else None
            store.finish_run(
                run_id, SaveResult(new=rng.randrange(5), rejected=rng.randrange(3)), rng.randrange(20),
                error=error, error_message=error and f"{network} ({watch}): {error} #{run_id}",
                rate_limit_reset=reset, units=rng.randrange(3), now=started + timedelta(seconds=rng.randrange(600)),
            )  # fmt: skip


@pytest.mark.parametrize("seed", [1, 2])
def test_run_summaries_say_what_the_runs_say(backend: Backend, seed: int) -> None:
    store = backend.store
    _write_random_runs(store, seed)
    raw = _raw_runs(backend)
    now = T0 + timedelta(hours=20)
    status = {(r.network, r.watch): r for r in store.status(now)}
    assert set(status) == set(raw)
    for source, runs in raw.items():
        finished = [r for r in runs if r[4] is not None]
        assert [
            (r.started_at, r.finished_at, r.error, r.error_message) for r in store.recent_runs(*source)
        ] == [(r[3], r[4], r[9], r[10]) for r in finished[:10]]
        row = status[source]
        assert row.last_run == max(str(r[3]) for r in runs)
        assert row.last_success == max((str(r[4]) for r in finished if r[9] is None), default=None)
        assert row.last_error == runs[0][10]
    for network in ("x", "reddit"):
        resets = [str(r[11]) for runs in raw.values() for r in runs if r[1] == network and r[11]]
        for at in (T0 + timedelta(hours=h) for h in range(0, 40, 3)):
            ahead = max((r for r in resets if r > at.isoformat()), default=None)
            assert store.rate_limited_until(network, at) == (datetime.fromisoformat(ahead) if ahead else None)
            runs_since = [
                r for runs in raw.values() for r in runs if r[1] == network and str(r[3]) >= at.isoformat()
            ]
            assert store.fetched_since(network, at) == sum(int(r[5]) for r in runs_since)  # type: ignore[call-overload]
            assert store.units_since(network, at) == sum(int(r[12]) for r in runs_since)  # type: ignore[call-overload]


def test_upgrading_builds_the_run_summaries_from_existing_runs(store: Store, tmp_path: Path) -> None:
    _write_random_runs(store, 3)
    old = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    migrate(old, MIGRATIONS[:11])
    old.executemany(
        f"INSERT INTO runs VALUES ({', '.join('?' * 13)})", store.conn.execute("SELECT * FROM runs")
    )
    old.close()
    with Store.open(tmp_path / "old.db") as upgraded:
        for table in ("source_health", "run_days"):
            assert rows(tmp_path / "old.db", f"SELECT * FROM {table} ORDER BY 1, 2") == rows(
                store.path, f"SELECT * FROM {table} ORDER BY 1, 2"
            )
        assert upgraded.status(T0) == store.status(T0)


def test_old_runs_go_and_what_they_said_stays(backend: Backend) -> None:
    from listener.model import SaveResult

    store = backend.store
    old = store.start_run("x", "brand", now=T0 - timedelta(days=40))
    store.finish_run(old, SaveResult(new=3), 7, now=T0 - timedelta(days=40))
    new = store.start_run("x", "brand", now=T0)
    store.finish_run(new, SaveResult(), 0, error="auth", error_message="x (brand): token rejected", now=T0)
    assert backend.rows("SELECT count(*) FROM runs") == [(1,)]  # 35 days are kept
    [row] = store.status(T0)
    assert (row.last_run, row.last_success) == (T0.isoformat(), (T0 - timedelta(days=40)).isoformat())
    assert store.fetched_since("x", (T0 - timedelta(days=40)).replace(hour=0, minute=0)) == 7
    assert [r.error for r in store.recent_runs("x", "brand")] == ["auth", None]


def test_mention_times_follow_matches_and_erasure(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    ms = [
        Mention("x", str(i), "aurora", T0 - timedelta(hours=i), author_handle=f"@a{i % 2}") for i in range(4)
    ]
    store.save_page(Page("x", "brand", ms, matches={m.native_id: ["brand"] for m in ms}))
    assert store.mention_times("x", "brand") == [m.created_at for m in ms]
    assert store.mention_times("x", "brand", limit=2) == [T0, T0 - timedelta(hours=1)]
    assert store.mention_times("reddit", "brand") == store.mention_times("x", "nope") == []
    assert store.newest_mentions([("x", "brand"), ("reddit", "brand"), ("x", "nope")]) == {("x", "brand"): T0}
    assert store.newest_mentions([]) == {}
    store.forget_author("x", "a0")
    assert store.mention_times("x", "brand") == [ms[1].created_at, ms[3].created_at]
    assert store.newest_mentions([("x", "brand")]) == {("x", "brand"): ms[1].created_at}


def test_status_counts_follow_erasure(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    ms = [
        Mention("x", str(i), "aurora", T0 - timedelta(hours=i), author_handle=f"@a{i % 2}") for i in range(4)
    ]
    store.save_page(Page("x", "brand", ms, matches={m.native_id: ["brand"] for m in ms}))
    store.forget_author("x", "a0")
    assert [r.mentions_24h for r in store.status(T0 + timedelta(hours=22), expected=[("x", "brand")])] == [1]


def test_migration_files_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    """Versions are positions: with 002 missing, 003 would run as version 2 and never as 3."""
    (tmp_path / "001.sql").write_text("CREATE TABLE a (x);", encoding="utf-8")
    (tmp_path / "003.sql").write_text("CREATE TABLE c (x);", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"numbered 001.sql up without gaps"):
        load(tmp_path)
    (tmp_path / "002.sql").write_text("CREATE TABLE b (x);", encoding="utf-8")
    assert load(tmp_path) == ["CREATE TABLE a (x);", "CREATE TABLE b (x);", "CREATE TABLE c (x);"]
