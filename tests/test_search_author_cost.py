"""``author:`` reads what an author's newest mentions cost, not their history (issue #20).

Mention ids follow collection, 4096 to a block (``storage.search.BLOCK_BITS``). The
authors here post among other people's mentions: ``anna_1`` 3 times a block in the
newest 20 blocks; ``anna_2`` the same, and 9 times as much again in the 20 blocks
before (10x busier); ``anna_3`` as many recent posts, all in the newest block. The
newest 50 of each must cost about the same SQLite VM steps (counted by a progress
handler, not timed), and be exactly those of sorting every match.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from listener.query import parse
from storage import SearchFilters, Store
from storage.search import BLOCK_BITS
from tests.harness import statements, vm_steps

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BLOCK = 1 << BLOCK_BITS
BLOCKS = 40


def _rows() -> Iterator[tuple[object, ...]]:
    """Mentions created in id order (a second per id, a few collected late), by handle."""
    rng = random.Random(20)

    def row(mention_id: int, handle: str) -> tuple[object, ...]:
        late = rng.random() < 0.05  # collected well after it was written
        created = T0 + timedelta(seconds=mention_id - (600 if late else rng.randrange(0, 30)))
        words = " ".join(rng.choices(["caffè", "aurora", "anna", "ordine", "grazie"], k=4))
        stamp = created.isoformat()
        return (mention_id, "x", f"n{mention_id}", handle, words, stamp, stamp, "{}")

    for block in range(BLOCKS):
        base = block * BLOCK + 1
        for k in range(8):  # other people
            yield row(base + k * 500, f"anna_{100 + block * 8 + k}")
        if block >= BLOCKS - 20:  # the newest 20 blocks: three posts each by anna_1 and anna_2
            for k in range(3):
                yield row(base + 100 + k * 1000, "anna_1")
                yield row(base + 200 + k * 1000, "@Anna_2")
        else:  # before: anna_2's history, 27 posts a block
            for k in range(27):
                yield row(base + 301 + k * 140, "anna_2")
    for k in range(60):  # anna_3: as many recent posts, packed in the newest block
        yield row((BLOCKS - 1) * BLOCK + 3100 + k, "anna_3")


@pytest.fixture
def authors(store: Store) -> Store:
    with store._write() as conn:
        conn.executemany(
            "INSERT INTO mentions (id, network, native_id, author_handle, text, created_at, collected_at, raw) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _rows(),
        )
    return store


def steps(store: Store, query: str, limit: int = 50) -> tuple[int, list[int]]:
    """SQLite VM steps of one newest-first search, and the ids it found."""
    found: list[int] = []
    cost = vm_steps(
        store.conn, lambda: found.extend(h.id for h in store.search(parse(query), SearchFilters(), limit))
    )
    return cost, found


def test_a_ten_times_busier_author_costs_the_same(authors: Store) -> None:
    counts = authors.conn.execute(
        "SELECT author_handle, count(*) FROM mentions WHERE author_handle IN ('anna_1', '@Anna_2', 'anna_2') "
        "GROUP BY 1"
    ).fetchall()
    assert dict(counts) == {"anna_1": 60, "@Anna_2": 60, "anna_2": 540}
    for handle in ("anna_1", "anna_2", "anna_3"):
        every = [h.id for h in authors.search(parse(f"author:{handle}"), SearchFilters(), limit=10**6)]
        assert steps(authors, f"author:{handle}")[1] == every[:50], handle
    quiet, _ = steps(authors, "author:anna_1")
    busy, _ = steps(authors, "author:anna_2")
    packed, _ = steps(authors, "author:anna_3")
    assert busy <= quiet * 1.1, (quiet, busy)
    assert quiet <= packed * 1.25, (packed, quiet)  # spread over 20 blocks, or in one


def test_the_newest_ids_come_first_in_one_query(authors: Store) -> None:
    """The index gives the hits newest id first (no sort) until 50 are kept; the blocks left, in id order."""
    with statements(authors.conn) as seen:
        authors.search(parse("author:anna_2"), SearchFilters(), 50)
    queries = [s for s in seen if "MATCH" in s and s.startswith("SELECT")]
    assert 2 <= len(queries) <= 3, queries  # then the rest of the last block read, and maybe the one below
    plans = [[row[3] for row in authors.conn.execute(f"EXPLAIN QUERY PLAN {q}")] for q in queries]
    # 192: rowid order (64), descending (128), consumed by the index; then ranges of rowids (>, <).
    assert plans[0][0].startswith("SCAN mentions_fts VIRTUAL TABLE INDEX 192:"), plans[0]
    for plan in plans[1:]:
        assert plan[0].startswith("SCAN mentions_fts VIRTUAL TABLE INDEX ") and plan[0].endswith("><"), plan
    for plan in plans:
        assert plan[1:] == ["SEARCH m USING INTEGER PRIMARY KEY (rowid=?)"], plan
