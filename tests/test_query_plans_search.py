"""Search reads what its newest rows cost; the scoring check reads what waits (issue #20).

The newest-first plans (full-text hits read down the ids in runs of blocks, no
full-text part walked in time order) must give exactly what sorting every match
gives, and every statement they run is captured with its values and its EXPLAIN
QUERY PLAN asserted: no scan of ``mentions``, no temporary B-tree but over a
bounded list of ids (or the ties of one ``created_at``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import storage.search
from listener.model import Mention, Page
from listener.query import parse
from storage import SearchFilters, Store
from tests.harness import statements

T0 = datetime(2026, 11, 1, tzinfo=UTC)
VOCABULARY = ["caffè", "aurora", "rimborso", "promo", "ordine", "lento", "grazie", "zenith"]
HANDLES = ["@Mario", "mario", "Élodie", "élodie_fan", "acme_support", "news_bot", "___", None]
QUERIES = [
    None, "aurora", "caffe", '"caffè aurora"', "aurora OR zenith", "(aurora OR zenith) -promo", "#rimborso",
    "aurora lang:it", "lang:it", "-aurora", "author:mario", "author:élodie", "author:___", "aurora author:mario",
    "author:mario OR zenith", "rimb*", "network:x aurora", "site:acme.it OR grazie", "zenith -(aurora promo)",
]  # fmt: skip
FILTERS = [
    SearchFilters(),
    SearchFilters(since=T0 + timedelta(days=8)),
    SearchFilters(until=T0 + timedelta(days=3)),
    SearchFilters(network="reddit", lang="it"),
    SearchFilters(watch="brand", since=T0 + timedelta(days=5)),
]


@pytest.fixture
def spread(store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    """1,200 mentions whose ids span 12 blocks, created in an order ids do not follow.

    ``ALL_HITS`` = 20: a limit above it sorts every match (``everything``), at most 20 walks.
    """
    monkeypatch.setattr(storage.search, "ALL_HITS", 20)
    rng = random.Random(20)
    store.sync_watches([("brand", "aurora")])
    rows = []
    for i in range(1200):
        created = T0 + timedelta(seconds=rng.randrange(0, 10 * 86400))
        if i % 50 == 0:
            created = T0 + timedelta(days=10, seconds=i)  # newer than the blocks around it
        text = " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 6)))
        rows.append((
            1 + i * 41, rng.choice(["x", "reddit", "rss"]), f"n{i}", f"https://{rng.choice(['acme.it', 'b.com'])}/{i}",
            rng.choice(HANDLES), text, rng.choice(["it", "it-IT", "en", None]), created.isoformat(),
            created.isoformat(), "{}",
        ))  # fmt: skip
    rows.append((99_999, "x", "tie", None, "mario", "aurora", "it", rows[7][7], rows[7][7], "{}"))  # a tie
    with store._write() as conn:
        conn.executemany(
            "INSERT INTO mentions (id, network, native_id, url, author_handle, text, language, created_at, "
            "collected_at, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute(
            "INSERT INTO mention_watches (mention_id, watch_id) SELECT id, 1 FROM mentions WHERE id % 3 = 0"
        )
    return store


def everything(store: Store, query: str | None, filters: SearchFilters) -> list[int]:
    """Every match sorted, as search did before (a limit above ``ALL_HITS`` takes that path)."""
    return [h.id for h in store.search(parse(query) if query else None, filters, limit=10**6)]


@pytest.mark.parametrize("query", QUERIES)
def test_the_newest_are_those_of_sorting_every_match(spread: Store, query: str | None) -> None:
    for filters in FILTERS:
        every = everything(spread, query, filters)
        for limit in (1, 3, 20):
            found = [h.id for h in spread.search(parse(query) if query else None, filters, limit)]
            assert found == every[:limit], (query, filters, limit)


def test_a_mention_moved_later_is_found_first(spread: Store) -> None:
    later = (T0 + timedelta(days=30)).isoformat()
    spread.conn.execute("UPDATE mentions SET created_at = ? WHERE id = 42", (later,))
    any_word = parse(" OR ".join(VOCABULARY))
    assert [h.id for h in spread.search(any_word, SearchFilters(), 1)] == [42]
    assert [h.id for h in spread.search(None, SearchFilters(), 1)] == [42]


def test_blocks_after_the_last_hit_cost_no_query(spread: Store) -> None:
    """Newer mentions in later blocks that hold no hit (other words, or erased ones) are not read."""
    later = (T0 + timedelta(days=20)).isoformat()
    with spread._write() as conn:
        conn.executemany(
            "INSERT INTO mentions (id, network, native_id, text, created_at, collected_at, raw) "
            "VALUES (?, 'x', ?, 'nulla da vedere', ?, ?, '{}')",
            [(110_000 + 4096 * k, f"late{k}", later, later) for k in range(4)],  # after the tie, id 99,999
        )
    every = everything(spread, "aurora", SearchFilters())
    with statements(spread.conn) as seen:
        found = [h.id for h in spread.search(parse("aurora"), SearchFilters(), 3)]
    assert found == every[:3]
    ranges = [tuple(map(int, m)) for s in seen for m in re.findall(r"BETWEEN (\d+) AND (\d+)", s)]
    assert ranges and all(high < 110_000 for _, high in ranges), ranges


def test_the_index_stays_exact_through_edits_and_erasure(spread: Store) -> None:
    spread.save_page(Page("x", "brand", [Mention("x", "n0", "tutto nuovo", T0)]))
    assert [h.native_id for h in spread.search(parse("nuovo"), SearchFilters())] == ["n0"]
    spread.forget_author("x", "mario")
    spread.conn.execute("INSERT INTO mentions_fts (mentions_fts, rank) VALUES ('integrity-check', 1)")
    docs = spread.conn.execute("SELECT count(*) FROM mentions_fts_docsize").fetchone()
    assert docs == spread.conn.execute("SELECT count(*) FROM mentions").fetchone()


# -- plans ----------------------------------------------------------------------


def planned(store: Store, call: Callable[[], object]) -> list[str]:
    """The plan lines of every statement ``call`` runs, each checked: no scan of mentions, no big sort."""
    with statements(store.conn) as seen:
        call()
    lines = []
    for statement in seen:
        if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        for row in store.conn.execute(f"EXPLAIN QUERY PLAN {statement}"):
            line = row[3]
            lines.append(line)
            if (
                line.startswith("SCAN") and "VIRTUAL TABLE" not in line
            ):  # in time order, to the limit; or what waits
                assert line.endswith(("INDEX mentions_day", "INDEX mentions_unscored")), (line, statement)
            if "TEMP B-TREE" in line:  # only over a bounded list of ids, or the ties of one created_at
                assert "json_each" in statement or "RIGHT PART" in line, (line, statement)
    assert lines, "nothing was planned"
    return lines


@pytest.mark.parametrize("analyzed", [False, True])
def test_search_plans_read_what_the_newest_cost(spread: Store, analyzed: bool) -> None:
    if analyzed:
        spread.conn.execute("ANALYZE")
    day = SearchFilters(since=T0 + timedelta(days=9))
    for query in ["aurora", '"caffè aurora"', "(aurora OR zenith) -promo", "aurora lang:it", "author:mario"]:
        for filters in (SearchFilters(), day, SearchFilters(network="x")):
            lines = planned(spread, lambda q=query, f=filters: spread.search(parse(q), f, 5))  # type: ignore[misc]
            # 192: the index gives its hits in rowid order (64), descending (128): no sort, stops when told
            assert any(line.startswith("SCAN mentions_fts VIRTUAL TABLE INDEX 192:") for line in lines), lines
    blocks = planned(spread, lambda: spread.search(parse("aurora"), day, 5))
    assert "SEARCH search_blocks USING COVERING INDEX search_blocks_latest (latest>?)" in blocks
    assert "SEARCH m USING INTEGER PRIMARY KEY (rowid=?)" in blocks
    # --since: the first query stops at the newest block older than it, found down from the newest
    assert "SEARCH search_blocks USING INTEGER PRIMARY KEY (rowid<?)" in blocks
    for query in [None, "lang:it", "-aurora", "author:mario OR zenith"]:
        for filters in (SearchFilters(), day, SearchFilters(network="x", watch="brand")):
            lines = planned(spread, lambda q=query, f=filters: spread.search(parse(q) if q else None, f, 5))  # type: ignore[misc]
            assert any(line.startswith(("SCAN m USING INDEX mentions_day", "SEARCH m USING INDEX mentions_day"))
                       for line in lines), lines  # fmt: skip


def test_the_scoring_check_reads_what_waits(spread: Store) -> None:
    lines = planned(spread, lambda: spread.unscored(1))
    assert any("USING INDEX mentions_unscored" in line for line in lines)
    lines = planned(spread, spread.scoring_backlog)
    assert any("USING COVERING INDEX mentions_unscored" in line for line in lines)
    waiting = spread.unscored(5)
    spread.set_sentiment([(mention_id, "neutral", 0.5, "m1", None) for mention_id, _, _ in waiting])
    assert spread.unscored(1)[0][0] > waiting[-1][0]
    assert spread.scoring_backlog()[0] == 1201 - 5


def test_no_index_is_a_prefix_of_another(spread: Store) -> None:
    """An index whose key columns lead another's only costs space (partial indexes aside)."""
    conn = spread.conn
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        keys = {}
        for _, name, _, _, partial in conn.execute(f"PRAGMA index_list('{table}')"):
            if partial:
                continue
            columns = conn.execute(f"PRAGMA index_xinfo('{name}')").fetchall()
            keys[name] = [f"{c[2]}" if c[1] >= 0 else f"expr{c[0]}:{name}" for c in columns if c[5]]
        for name, key in keys.items():
            for other, longer in keys.items():
                assert other == name or longer[: len(key)] != key, f"{name} {key} leads {other} {longer}"
