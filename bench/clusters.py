"""Clustering rate: ``assign_clusters`` over N synthetic mentions, as the daemon runs it.

Mentions arrive over ``--days`` days; a share of them (``--copies``) are re-shares
of an earlier story with small edits on another network, the rest are random text
about the brand (which shares the brand's words, as real mentions do). Clusters in
passes of ``--pass-size`` new mentions, as after each collection, and prints
mentions/s overall, the slowest pass, and how many copies landed in their story's
cluster.

    python bench/clusters.py --n 100000
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.clusters import assign_clusters
from listener.model import Mention, Page
from storage import Store

BRAND = [
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
    "capsule",
    "macchina",
    "negozio",
    "milano",
    "roma",
    "prezzo",
    "sconto",
    "colazione",
    "espresso",
    "cappuccino",
    "servizio",
    "clienti",
    "app",
    "bar",
    "latte",
    "delivery",
    "late",
    "broken",
    "love",
    "hate",
    "best",
    "worst",
    "morning",
    "office",
    "new",
    "store",
    "opening",
    "recall",
    "lotto",
    "plastica",
    "giveaway",
    "vinci",
    "amici",
    "estrazione",
    "review",
    "taste",
    "bitter",
    "sweet",
    "aroma",
    "blend",
    "roast",
    "beans",
    "price",
    "drop",
]
_rng = random.Random(1)
# A vocabulary the size of everyday talk, drawn Zipf-like, with the brand's own words on top.
WORDS = BRAND + [
    "".join(_rng.choice("bcdfglmnprstvz") + _rng.choice("aeiou") for _ in range(_rng.randint(2, 4)))
    for _ in range(5000)
]
WEIGHTS = [1.0 / (rank + 1) for rank in range(len(WORDS))]
NETWORKS = ("x", "reddit", "mastodon", "bluesky", "facebook", "instagram", "youtube", "hn")


def _edit(text: str, rng: random.Random) -> str:
    choice = rng.randrange(4)
    if choice == 0:
        return f"RT @user{rng.randrange(999)}: {text}"
    if choice == 1:
        return f"{text} #CaffeAurora #{rng.choice(WORDS)}"
    if choice == 2:
        return text.upper()
    words = text.split()
    words[rng.randrange(len(words))] = rng.choice(WORDS)
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--copies", type=float, default=0.2, help="share of mentions that re-share a story")
    parser.add_argument("--pass-size", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    step = timedelta(days=args.days) / args.n
    stories: list[tuple[str, int]] = []  # (text, index of the original)
    truth: dict[int, int] = {}
    mentions = []
    for i in range(args.n):
        if stories and rng.random() < args.copies:
            text, origin = rng.choice(stories[-2000:])
            text = _edit(text, rng)
            truth[i] = origin
        else:
            text = "Caffè Aurora " + " ".join(rng.choices(WORDS, WEIGHTS, k=rng.randint(4, 30)))
            if rng.random() < 0.3:
                text += f" https://news.example/{i}?utm_source=x"
            stories.append((text, i))
        mentions.append(
            Mention(rng.choice(NETWORKS), f"n{i}", text, start + step * i, author_handle=f"u{i % 5000}")
        )

    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "bench.db") as store:
        total = 0.0
        slowest = 0.0
        for lo in range(0, args.n, args.pass_size):
            chunk = mentions[lo : lo + args.pass_size]
            for network in NETWORKS:
                store.save_page(
                    Page(network=network, watch="bench", mentions=[m for m in chunk if m.network == network])
                )
            began = time.perf_counter()
            assign_clusters(store)
            took = time.perf_counter() - began
            total += took
            slowest = max(slowest, took)
        ids = dict(store.conn.execute("SELECT native_id, id FROM mentions"))
        cluster = dict(store.conn.execute("SELECT mention_id, cluster_id FROM mention_clusters"))
        joined = sum(cluster[ids[f"n{i}"]] == cluster[ids[f"n{o}"]] for i, o in truth.items())
        bands = store.conn.execute("SELECT count(*) FROM cluster_bands").fetchone()[0]
        size = (Path(tmp) / "bench.db").stat().st_size
    print(f"mentions: {args.n}, passes of {args.pass_size}")
    print(f"clustering: {total:.1f} s, {args.n / total:,.0f} mentions/s; slowest pass {slowest:.2f} s")
    print(f"copies in their story's cluster: {joined}/{len(truth)} ({joined / max(len(truth), 1):.1%})")
    print(f"band rows kept: {bands:,} (pruned beyond twice the window); database {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
