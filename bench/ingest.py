"""Ingest rate: the storage API against raw ``sqlite3.executemany``, in one run.

Both write N synthetic mentions, page by page, into a fresh WAL database with
the same schema (FTS5 index, indexes, triggers); the raw side does nothing else, the storage
side also checks for duplicates and edits and keeps the cursor. Prints both
rates and storage/raw, which should stay >= 0.6.

    python bench/ingest.py --n 200000
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.model import Mention, Page
from listener.records import utc_iso
from storage import Store
from storage.migrations import migrate

WORDS = [
    "caffè",
    "aurora",
    "buono",
    "pessimo",
    "rimborso",
    "ordine",
    "consegna",
    "coffee",
    "great",
    "awful",
    "refund",
    "delivery",
    "perché",
    "sempre",
    "mai",
    "più",
    "grazie",
    "thanks",
    "love",
    "hate",
    "#caffeaurora",
    "@aurora_official",
    "😀",
    "😡",
]


def mentions(n: int, seed: int = 7) -> list[Mention]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return [
        Mention(
            network="x",
            native_id=str(10**15 + i),
            text=" ".join(rng.choices(WORDS, k=rng.randint(8, 30))),
            created_at=start + timedelta(seconds=i),
            url=f"https://x.com/u{i % 5000}/status/{10**15 + i}",
            author_id=str(i % 5000),
            author_handle=f"user{i % 5000}",
            author_name=f"User {i % 5000}",
            language=rng.choice(("it", "en")),
            like_count=rng.randint(0, 50),
            repost_count=rng.randint(0, 10),
            raw={"id": str(10**15 + i), "public_metrics": {"like_count": 1}},
        )
        for i in range(n)
    ]


def via_store(path: Path, data: list[Mention], page_size: int) -> float:
    with Store.open(path) as store:
        began = time.perf_counter()
        for start in range(0, len(data), page_size):
            page = data[start : start + page_size]
            store.save_page(Page("x", "brand", page, cursor=page[-1].native_id))
        return time.perf_counter() - began


def via_raw(path: Path, data: list[Mention], page_size: int) -> float:
    """The same schema (every migration: indexes and triggers included), one executemany per page."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn)
    insert = (
        "INSERT INTO mentions (network, native_id, url, author_id, author_handle, author_name, text, "
        "language, created_at, collected_at, like_count, repost_count, raw) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    began = time.perf_counter()
    for start in range(0, len(data), page_size):
        now = utc_iso(datetime.now(UTC))
        rows = [
            (m.network, m.native_id, m.url, m.author_id, m.author_handle, m.author_name, m.text,
             m.language, utc_iso(m.created_at), now, m.like_count, m.repost_count, json.dumps(m.raw))
            for m in data[start : start + page_size]
        ]  # fmt: skip
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - began
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="mentions to insert")
    parser.add_argument("--page-size", type=int, default=100, help="mentions per page (per transaction)")
    parser.add_argument("--min-ratio", type=float, default=0.6, help="exit 1 below this storage/raw ratio")
    args = parser.parse_args()
    data = mentions(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        raw_s = via_raw(Path(tmp) / "raw.db", data, args.page_size)
        store_s = via_store(Path(tmp) / "store.db", data, args.page_size)
    raw_rate, store_rate = args.n / raw_s, args.n / store_s
    ratio = store_rate / raw_rate
    print(f"mentions          {args.n:>10,}   page size {args.page_size}")
    print(f"raw executemany   {raw_rate:>10,.0f} mentions/s   ({raw_s:.2f} s)")
    print(f"storage API       {store_rate:>10,.0f} mentions/s   ({store_s:.2f} s)")
    print(f"ratio             {ratio:>10.2f}   (target >= {args.min_ratio})")
    return 0 if ratio >= args.min_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
