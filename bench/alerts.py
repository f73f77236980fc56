"""One alert poll over a large database: every watch's series, detectors, explanations.

Builds (once, cached in --db) a database of N mentions over 40 days spread over W
watches, then times ``evaluate`` over all watches, several polls in a row, and
prints the time per poll. Target: under 1 s for 1,000,000 mentions and 50 watches.

    python bench/alerts.py --n 1000000 --watches 50
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.alerts.evaluate import evaluate
from listener.alerts.settings import AlertSettings
from listener.model import Mention, Page, Watch
from listener.query import parse
from storage import Store

END = datetime(2026, 11, 24, tzinfo=UTC)
SPAN = timedelta(days=40)  # more than the detectors look back (history_needed)


def build(store: Store, n: int, watches: int, page: int = 2000) -> None:
    names = [f"w{i}" for i in range(watches)]
    store.sync_watches([(name, name) for name in names])
    rng = random.Random(11)
    start = END - SPAN
    ids = sorted(rng.random() for _ in range(n))
    began = time.perf_counter()
    for offset in range(0, n, page):
        mentions, matches = [], {}
        for i in range(offset, min(offset + page, n)):
            watch = names[int(rng.paretovariate(1.2)) % watches]
            created = start + SPAN * ids[i]
            mentions.append(
                Mention(
                    "x", str(i), f"{watch} text {rng.randint(0, 999)}", created, author_handle=f"u{i % 9000}"
                )
            )
            matches[str(i)] = [watch]
        store.save_page(Page("x", "bench", mentions, matches=matches))
    store.conn.execute(
        "UPDATE mentions SET sentiment_label = CASE WHEN id % 10 = 0 THEN 'negative' ELSE 'neutral' END"
    )
    print(
        f"built {n:,} mentions over {watches} watches in {time.perf_counter() - began:.1f} s", file=sys.stderr
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--watches", type=int, default=50)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--db", type=Path, default=Path("bench-alerts.db"))
    parser.add_argument("--target", type=float, default=1.0, help="seconds per poll; exit 1 above")
    args = parser.parse_args()
    fresh = not args.db.exists()
    with Store.open(args.db) as store:
        if fresh or store.count_mentions() != args.n:
            store.close()
            args.db.unlink()
            store = Store.open(args.db)
            build(store, args.n, args.watches)
        watches = [Watch(f"w{i}", f"w{i}", parse(f"w{i}")) for i in range(args.watches)]
        settings = AlertSettings()
        times = []
        for poll in range(args.polls):
            now = END + timedelta(minutes=5 * poll)
            began = time.perf_counter()
            evaluate(store, watches, [], settings, now, since=now - timedelta(minutes=5))
            times.append(time.perf_counter() - began)
    median = statistics.median(times)
    print(f"mentions          {args.n:>10,}")
    print(f"watches           {args.watches:>10}")
    print(
        f"poll (median)     {median:>10.3f} s   (min {min(times):.3f}, max {max(times):.3f}; target < {args.target} s)"
    )
    return 0 if median < args.target else 1


if __name__ == "__main__":
    sys.exit(main())
