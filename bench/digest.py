"""Building one day's digest over a large database: every query, the chart, the HTML.

Builds (once, cached in --db) a database of N mentions over 14 days spread over W
watches on two networks, with replies and threads from the brand's own accounts,
negative authors, collector runs and alerts; then times building and rendering
the digest of the last day (everything but the SMTP conversation) several times
and prints the median. Target: under 2 s for 1,000,000 mentions and 50 watches.

The digest's queries read through the indexes of migration 6.

    python bench/digest.py --n 1000000 --watches 50
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.digest.build import DigestOptions, DigestSettings, build_digest
from listener.digest.render import render, to_email
from listener.model import Mention, Page, SaveResult
from listener.records import AlertChange
from storage import Store

DAY = date(2026, 11, 23)  # the last full day before END, in UTC
END = datetime(2026, 11, 24, tzinfo=UTC)
SPAN = timedelta(days=14)
OWN = {"x": "brand_official", "reddit": "brand_it"}
NETWORKS = ("x", "reddit")


def _mention(rng: random.Random, i: int, network: str, created: datetime) -> Mention:
    if rng.random() < 0.03:  # the brand's own accounts answer some posts
        target = rng.randrange(max(i - 500, 1), i + 1)
        return Mention(
            network, str(i), f"ci dispiace, scriviamo in privato {i}", created, author_handle=OWN[network],
            in_reply_to_id=str(target) if rng.random() < 0.7 else None, conversation_id=str(target - target % 7),
        )  # fmt: skip
    return Mention(
        network, str(i), f"aurora text {rng.randint(0, 999)} parola{rng.randint(0, 99)}", created,
        url=f"https://example.test/{network}/{i}", author_handle=f"u{int(rng.paretovariate(1.1)) % 20000}",
        in_reply_to_id=str(i - rng.randint(1, 50)) if i > 50 and rng.random() < 0.3 else None,
        conversation_id=str(i - i % 7), like_count=int(rng.paretovariate(1.5)), reply_count=rng.randint(0, 3),
    )  # fmt: skip


def build(store: Store, n: int, watches: int, page: int = 2000) -> None:
    names = [f"w{i}" for i in range(watches)]
    store.sync_watches([(name, name) for name in names])
    rng = random.Random(7)
    start = END - SPAN
    stamps = sorted(rng.random() for _ in range(n))
    began = time.perf_counter()
    for offset in range(0, n, page):
        batch: dict[str, tuple[list[Mention], dict[str, list[str]]]] = {net: ([], {}) for net in NETWORKS}
        for i in range(offset, min(offset + page, n)):
            network = NETWORKS[i % 5 == 0]  # a fifth on reddit
            mention = _mention(rng, i, network, start + SPAN * stamps[i])
            watch = names[int(rng.paretovariate(1.2)) % watches]
            batch[network][0].append(mention)
            batch[network][1][str(i)] = (
                [watch] if rng.random() < 0.9 else [watch, names[rng.randrange(watches)]]
            )
        for network, (mentions, matches) in batch.items():
            store.save_page(Page(network, "bench", mentions, matches=matches))
    labels = ("negative", "neutral", "neutral", "positive", "neutral", "neutral", "neutral", "neutral")
    for first in range(1, n + 1, 50_000):
        ids = range(first, min(first + 50_000, n + 1))
        store.set_sentiment([(i, labels[(i * 7919) % len(labels)], 0.8, "bench", None) for i in ids])
    for hour in range(8 * 24):  # hourly runs of every source over the last eight days
        at = END - timedelta(hours=hour)
        for network in NETWORKS:
            for watch in names:
                run = store.start_run(network, watch, at)
                failed = network == "reddit" and hour < 30
                store.finish_run(run, SaveResult(new=5), 10, error="auth" if failed else None,
                                 error_message="reddit: login refused (401)" if failed else None,
                                 now=at + timedelta(seconds=20))  # fmt: skip
    for k in range(30):
        at = END - timedelta(hours=k * 5)
        store.alerts.record(AlertChange(
            watch=names[k % watches], network="", kind="volume", state="opened", severity="warning",
            started_at=at, at=at, observed=100, expected=20, summary=f"mentions 100 vs 20 expected ({k})",
            explanation={"terms": [{"term": "rimborso"}], "samples": [{"text": "aurora", "url": "https://x.test/1"}]},
        ), [])  # fmt: skip
    print(
        f"built {n:,} mentions over {watches} watches in {time.perf_counter() - began:.0f} s", file=sys.stderr
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--watches", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", type=Path, default=Path("bench-digest.db"))
    parser.add_argument("--target", type=float, default=2.0, help="seconds per digest; exit 1 above")
    args = parser.parse_args()
    store = Store.open(args.db)
    if store.count_mentions() != args.n:
        store.close()
        args.db.unlink()
        store = Store.open(args.db)
        build(store, args.n, args.watches)
    with store:
        names = tuple(f"w{i}" for i in range(args.watches))
        options = DigestOptions(
            timezone="Europe/Rome", language="it", recipients=("social@example.org",),
            own_accounts=tuple(OWN.items()), watches=names,
            sources=tuple((net, name) for net in NETWORKS for name in names), settings=DigestSettings(),
        )  # fmt: skip
        times = []
        for _ in range(args.repeat):
            began = time.perf_counter()
            digest = build_digest(store, options, DAY)
            message = to_email(render(digest), "listener@example.org", options.recipients, END)
            times.append(time.perf_counter() - began)
    median = statistics.median(times)
    print(f"mentions          {args.n:>10,}   ({digest.total.volume:,} on {DAY})")
    print(f"watches           {args.watches:>10}")
    more = "+" if digest.to_answer_more else ""
    print(f"to answer         {digest.to_answer:>10,}{more}  stories owed a reply")
    print(f"message           {len(message.as_bytes()):>10,} bytes")
    print(
        f"digest (median)   {median:>10.3f} s   (min {min(times):.3f}, max {max(times):.3f}; target < {args.target} s)"
    )
    return 0 if median < args.target else 1


if __name__ == "__main__":
    sys.exit(main())
