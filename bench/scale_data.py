"""A realistic listener database at scale, built through the storage API (for ``bench/scale.py``).

``build(path, mentions, watches, days, seed)`` writes, into a fresh file:

- ``mentions`` mentions over ``days`` days ending at ``END``, on 9 networks, in 8 languages
  (2% without one), 60-280 characters of text from per-language filler words, words
  common to every watch (``price``, ``support``, ``promo``, a category such as ``cloud``),
  hashtags, and the brand words of the 1-3 watches each mention matched (``Page.matches``);
  watch popularity is Zipf-like (the top brand word has ~15% of the mentions).
- Zipf-like authors, one home network each: ~55% of mentions by authors who post once,
  ~30% by a middle class (a few to a few dozen posts), ~15% by a few hundred heavy authors
  (hundreds of posts each at 1M mentions; their number grows with ``mentions``).
- Replies: 20% of mentions reply to an earlier mention of the same network
  (``in_reply_to_id``, ``conversation_id`` = the thread's root).
- Sentiment on ~90% of mentions (``Store.set_sentiment``, scattered at random; ``scored``),
  then ``catch_up``: the scorer has labelled every mention older than ``UNSCORED_FOR``, as
  in a running daemon (the detectors read the fully scored buckets, and the negative-share
  detector does its whole work; scattered unscored mentions would hold it back at the first).
- The runs history of a daemon that polled every source every 15 minutes for ``days``
  days: (network, watch) for the 7 searching networks and the first ``run_watches``
  watches (default: all), plus ~45 feeds (RSS, a Facebook page, subreddit streams);
  ~1% of runs fail, X is rate-limited now and then, YouTube spends quota units.
  Each run is ``start_run`` + ``finish_run``. Also a cursor and a job per source, and an
  alert history (opened and resolved incidents, a few per watch).

Everything goes through ``storage.Store``'s public methods; the only liberty is
``_Batched``: its writes join one outer transaction per ~50k mentions or runs (the
same statements, fewer commits), with ``synchronous = OFF`` while building. The
file appears under its final name only when complete (built as ``<name>.part``).
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from bisect import bisect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from listener.model import Mention, Page, SaveResult
from listener.records import AlertChange
from storage import Store

__all__ = [
    "END",
    "LANGUAGES",
    "NETWORKS",
    "SEARCHING",
    "UNSCORED_FOR",
    "Spec",
    "build",
    "cache_name",
    "catch_up",
    "feeds",
    "watch_list",
]

END = datetime(2025, 6, 2, tzinfo=UTC)  # the databases end here; benches use it as "now"
PAGE = 5000  # mentions per save_page
SLICE = 45_000  # every buffered page is flushed after this many mentions (ids follow time)
COMMIT_EVERY = 50_000  # mentions or runs per outer transaction
TICK = timedelta(minutes=15)
MODEL = "bench-scale:1"  # the sentiment_model written (no model is loaded)
UNSCORED_FOR = timedelta(hours=1)  # the scorer's lag behind collection, after catch_up

NETWORKS = {  # network: share of mentions
    "x": 0.30, "reddit": 0.15, "bluesky": 0.12, "mastodon": 0.10, "facebook": 0.08,
    "rss": 0.08, "instagram": 0.07, "youtube": 0.07, "hackernews": 0.03,
}  # fmt: skip
SEARCHING = ("x", "reddit", "mastodon", "bluesky", "hackernews", "youtube", "instagram")
HOSTS = {
    "x": "x.com", "reddit": "reddit.com", "bluesky": "bsky.app", "mastodon": "mastodon.social",
    "facebook": "facebook.com", "rss": "news.example", "instagram": "instagram.com",
    "youtube": "youtube.com", "hackernews": "news.ycombinator.com",
}  # fmt: skip
LANGUAGES = {"en": 0.50, "it": 0.10, "es": 0.10, "de": 0.08, "fr": 0.08, "pt": 0.06, "ja": 0.04, "nl": 0.02}
FILLER = {
    "en": "the a and is this that my with for was just really so not but have they new love hate great "
    "awful today again why what still never always thanks please anyone know think good bad",
    "it": "il la e è questo che mio con per era solo davvero così non ma hanno nuovo amo odio ottimo "
    "pessimo oggi ancora perché cosa sempre mai grazie qualcuno penso buono male caffè",
    "es": "el la y es este que mi con para era solo muy así no pero tienen nuevo amo odio genial "
    "horrible hoy otra vez por qué siempre nunca gracias alguien creo bueno malo",
    "de": "der die und ist das mein mit für war nur wirklich so nicht aber haben neu liebe hasse toll "
    "schrecklich heute wieder warum was immer nie danke bitte jemand denke gut schlecht",
    "fr": "le la et est ce que mon avec pour était juste vraiment si pas mais ont nouveau adore déteste "
    "génial nul aujourd'hui encore pourquoi quoi toujours jamais merci quelqu'un pense bon mauvais",
    "pt": "o a e é este que meu com para era só muito assim não mas têm novo amo odeio ótimo péssimo "
    "hoje de novo por que sempre nunca obrigado alguém acho bom ruim",
    "ja": "これ それ 本当に 今日 また なぜ いつも 最高 最悪 ありがとう 新しい 好き 嫌い 良い 悪い "
    "すごい ちょっと まだ みんな 思う 買った 使った 届いた",
    "nl": "de het en is dit dat mijn met voor was gewoon echt zo niet maar hebben nieuw hou haat geweldig "
    "slecht vandaag weer waarom wat altijd nooit bedankt iemand denk goed",
}
COMMON = [
    "price",
    "support",
    "update",
    "promo",
    "refund",
    "delivery",
    "app",
    "service",
    "order",
    "review",
    "launch",
    "outage",
    "login",
]
CATEGORIES = ["cloud", "coffee", "bank", "shoes", "air", "mobile", "bikes", "foods", "energy", "games"]
TAGS = ["#news", "#tech", "#deal", "#help", "#fail", "#win", "#launch", "#review"]
SYLLABLES = [
    "ka",
    "zen",
    "tri",
    "vo",
    "lux",
    "mar",
    "nor",
    "qui",
    "bel",
    "dra",
    "fen",
    "gor",
    "hal",
    "ix",
    "jul",
    "kor",
    "lem",
    "mun",
    "pax",
    "rho",
    "sol",
    "tav",
    "ul",
    "ver",
    "wex",
    "yor",
    "zup",
    "ari",
    "bex",
    "cor",
    "dun",
]
LABELS = (("negative", 0.20, -0.6), ("neutral", 0.50, 0.0), ("positive", 0.30, 0.6))


@dataclass(frozen=True, slots=True)
class Spec:
    """What a cached database holds; its file name says it."""

    mentions: int
    watches: int = 500
    days: int = 30
    seed: int = 0
    scored: float = 0.9  # share of mentions with a sentiment label
    run_watches: int | None = None  # watches with a runs history (None: all)


def cache_name(spec: Spec) -> str:
    scored = "" if spec.scored == 0.9 else f"-sc{spec.scored:g}"
    runs = "" if spec.run_watches is None else f"-r{spec.run_watches}"
    return f"m{spec.mentions}-w{spec.watches}-d{spec.days}-s{spec.seed}{scored}{runs}.db"


def _brand(i: int) -> str:
    """A made-up brand word, unique per watch index: two or three syllables."""
    n = len(SYLLABLES)
    word = SYLLABLES[i % n] + SYLLABLES[(i // n + 7 * i) % n]
    return word + SYLLABLES[i // (n * n)] if i >= n * n else word + ("o" if i >= n else "")


def watch_list(count: int) -> list[tuple[str, str, str, str]]:
    """(name, query, brand word, category) per watch; three query shapes in turn."""
    out: list[tuple[str, str, str, str]] = []
    seen: set[str] = set()
    i = 0
    while len(out) < count:
        word = _brand(i)
        i += 1
        if word in seen:
            continue
        seen.add(word)
        k = len(out)
        category = CATEGORIES[k % len(CATEGORIES)]
        query = (word, f'"{word} {category}" OR #{word}', f"{word} -hiring")[k % 3]
        out.append((f"{word}-{category}", query, word, category))
    return out


def feeds() -> list[tuple[str, str]]:
    """The (network, feed) sources that are not watches, as their runs name them."""
    rss = [("rss", f"https://news{i}.example/feed.xml") for i in range(40)]
    return [*rss, ("facebook", "@brandpage"), ("facebook", "posts:@brandpage"),
            ("reddit", "r/technology"), ("reddit", "r/europe"), ("reddit", "r/deals")]  # fmt: skip


class _Batched(Store):
    """A Store whose writes join the builder's outer transaction, when one is open."""

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.conn.in_transaction:
            yield self.conn
        else:
            with super()._write() as conn:
                yield conn


class _Picker:
    """Weighted choice in O(log n) from precomputed cumulative weights."""

    def __init__(self, rng: random.Random, weights: Sequence[float]) -> None:
        self.rng = rng
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self) -> int:
        return min(bisect(self.cum, self.rng.random() * self.total), len(self.cum) - 1)


class _Authors:
    """Zipf-like authors with a home network each: (network, author number)."""

    def __init__(self, rng: random.Random, mentions: int) -> None:
        self.rng = rng
        self.networks = list(NETWORKS)
        self.net = _Picker(rng, list(NETWORKS.values()))
        heavy = max(5, round(300 * mentions / 1_000_000))
        middle = max(10, mentions * 30 // 100 // 6)  # ~6 posts each on average, skewed
        self.heavy = _Picker(rng, [1 / (r + 1) ** 0.6 for r in range(heavy)])
        self.middle = _Picker(rng, [1 / (r + 1) ** 0.5 for r in range(middle)])
        self.home = [self.net() for _ in range(heavy + middle)]
        self.n_heavy = heavy
        self.next_single = heavy + middle

    def __call__(self) -> tuple[int, int]:
        u = self.rng.random()
        if u < 0.55:
            self.next_single += 1
            return self.net(), self.next_single
        k = self.heavy() if u >= 0.85 else self.n_heavy + self.middle()
        return self.home[k], k


def _handle(k: int) -> str:
    n = len(SYLLABLES)
    return f"{SYLLABLES[k % n]}{SYLLABLES[(k // n) % n]}_{k}"


def _text(rng: random.Random, lang: str | None, brands: list[tuple[str, str, str, str]],
          target: int, filler: dict[str, list[str]]) -> str:  # fmt: skip
    words: list[str] = []
    for _, query, word, category in brands:
        if query.startswith('"'):
            words.append(f"{word} {category}" if rng.random() < 0.7 else f"#{word}")
        else:
            words.append(word if rng.random() < 0.85 else f"#{word}")
    pool = filler[lang or "en"]
    size = sum(len(w) + 1 for w in words)
    extra = rng.choices(pool, k=max(1, (target - size) // 3))
    for w in extra:
        if size >= target:
            break
        words.insert(rng.randrange(len(words) + 1), w)
        size += len(w) + 1
    return " ".join(words)[:280]


def _mentions(spec: Spec, rng: random.Random, watches: list[tuple[str, str, str, str]]) -> Iterator[
    tuple[Mention, list[str]]
]:  # fmt: skip
    """Mentions in time order, each with the watches it matched."""
    authors = _Authors(rng, spec.mentions)
    networks = list(NETWORKS)
    langs = _Picker(rng, list(LANGUAGES.values()))
    lang_names = list(LANGUAGES)
    popular = _Picker(rng, [1 / (r + 1) for r in range(len(watches))])
    # ~8% of the words are common to every watch, ~5% hashtags, the rest the language's filler.
    filler = {lang: text.split() * 5 + COMMON + TAGS for lang, text in FILLER.items()}
    recent: dict[str, list[tuple[str, str]]] = {n: [] for n in networks}  # (native id, root) per network
    start = END - timedelta(days=spec.days)
    span = (END - start).total_seconds()
    for i in range(spec.mentions):
        at = start + timedelta(seconds=span * (i + rng.random()) / spec.mentions)
        net_i, author = authors()
        network = networks[net_i]
        native = str(1_700_000_000_001 + i)
        lang = None if rng.random() < 0.02 else lang_names[langs()]
        k = 1 if rng.random() < 0.7 else 2 if rng.random() < 0.67 else 3
        chosen = list({popular(): None for _ in range(k)})
        brands = [watches[j] for j in chosen]
        reply_to = root = None
        pool = recent[network]
        if pool and rng.random() < 0.2:
            reply_to, root = pool[rng.randrange(len(pool))]
        handle = _handle(author)
        text = _text(rng, lang, brands, rng.randint(60, 280), filler)
        metrics = [int(rng.expovariate(0.15)) for _ in range(4)]
        mention = Mention(
            network=network, native_id=native, text=text, created_at=at,
            url=f"https://{HOSTS[network]}/{handle}/{native}", author_id=str(10_000_000 + author),
            author_handle=handle, author_name=handle.split("_")[0].title(), language=lang,
            in_reply_to_id=reply_to, conversation_id=root or native,
            like_count=metrics[0], repost_count=metrics[1], reply_count=metrics[2], quote_count=metrics[3],
            view_count=metrics[0] * 40 + metrics[1],
            raw={"id": native, "created_at": at.isoformat(), "text": text, "lang": lang,
                 "author": {"id": str(10_000_000 + author), "username": handle},
                 "public_metrics": dict(zip(("like", "repost", "reply", "quote"), metrics, strict=True)),
                 "in_reply_to": reply_to},
        )  # fmt: skip
        if len(pool) < 5000:
            pool.append((native, root or native))
        else:
            pool[rng.randrange(5000)] = (native, root or native)
        yield mention, [watches[j][0] for j in chosen]


def _label(u: float) -> tuple[str, float]:
    """A sentiment label drawn by its share (``u`` uniform in [0, 1)), and its typical score."""
    for label, share, centre in LABELS:
        if u < share:
            return label, centre
        u -= share
    return LABELS[-1][0], LABELS[-1][2]


def _progress(label: str, done: int, total: int, started: float) -> None:
    rate = done / max(time.monotonic() - started, 1e-9)
    left = (total - done) / rate if rate else 0
    print(f"  {label}: {done:>11,} / {total:,}  {rate:,.0f}/s  ~{left / 60:.1f} min left", flush=True)


def _store_mentions(store: Store, spec: Spec, rng: random.Random,
                    watches: list[tuple[str, str, str, str]], say: Callable[[str, int, int, float], None]) -> None:  # fmt: skip
    next_id = int(store.conn.execute("SELECT coalesce(max(id), 0) FROM mentions").fetchone()[0]) + 1
    buffers: dict[str, list[tuple[Mention, list[str]]]] = {n: [] for n in NETWORKS}
    started = time.monotonic()
    done = since_commit = 0

    def flush(network: str) -> None:
        nonlocal next_id
        items = buffers[network]
        if not items:
            return
        page = Page(network=network, watch=items[0][1][0], mentions=[m for m, _ in items],
                    matches={m.native_id: names for m, names in items})  # fmt: skip
        collected = max(m.created_at for m, _ in items) + timedelta(minutes=5)
        result = store.save_page(page, now=collected)
        if result.new != len(items):
            raise RuntimeError(f"expected {len(items)} new mentions, stored {result.new}")
        scores = []
        for offset, (m, _) in enumerate(items):
            if rng.random() < spec.scored:
                label, centre = _label(rng.random())
                score = round(max(-1.0, min(1.0, centre + rng.uniform(-0.3, 0.3))), 4)
                scores.append((next_id + offset, label, score, MODEL, m.language))
        store.set_sentiment(scores)
        next_id += len(items)
        items.clear()

    store.conn.execute("BEGIN")
    for mention, names in _mentions(spec, rng, watches):
        buffers[mention.network].append((mention, names))
        if len(buffers[mention.network]) >= PAGE:
            flush(mention.network)
        done += 1
        since_commit += 1
        if done % SLICE == 0:
            for network in NETWORKS:
                flush(network)
        if since_commit >= COMMIT_EVERY and not any(buffers.values()):
            store.conn.execute("COMMIT")
            store.conn.execute("BEGIN")
            since_commit = 0
        if done % 100_000 == 0:
            say("mentions", done, spec.mentions, started)
    for network in NETWORKS:
        flush(network)
    store.conn.execute("COMMIT")
    say("mentions", done, spec.mentions, started)


def catch_up(store: Store, seed: int = 0, say: Callable[[str, int, int, float], None] | None = None) -> int:
    """Label every unscored mention created before ``END - UNSCORED_FOR``; returns how many.

    Idempotent, so a cache built before this step existed is brought up to date on open.
    Reads ``mentions_unscored`` (the scorer's own index) in id order, as the daemon does.
    """
    rng = random.Random(seed + 1)
    cutoff = (END - UNSCORED_FOR).isoformat()
    started, done, after = time.monotonic(), 0, 0
    total = store.scoring_backlog()[0]
    while True:
        rows = store.conn.execute(
            "SELECT id, created_at, language FROM mentions INDEXED BY mentions_unscored "
            "WHERE sentiment_label IS NULL AND id > ? ORDER BY id LIMIT 5000",
            (after,),
        ).fetchall()
        if not rows:
            return done
        after = rows[-1][0]
        scores = []
        for mention_id, created_at, language in rows:
            if created_at < cutoff:
                label, centre = _label(rng.random())
                score = round(max(-1.0, min(1.0, centre + rng.uniform(-0.3, 0.3))), 4)
                scores.append((mention_id, label, score, MODEL, language))
        store.set_sentiment(scores)
        if say is not None and (done + len(scores)) // 100_000 > done // 100_000:
            say("catch-up", done + len(scores), total, started)
        done += len(scores)


def _store_runs(store: Store, spec: Spec, rng: random.Random, sources: list[tuple[str, str]],
                say: Callable[[str, int, int, float], None]) -> int:  # fmt: skip
    """Every source every 15 minutes, in time order; returns how many runs."""
    ticks = int(timedelta(days=spec.days) / TICK)
    total = ticks * len(sources)
    per_run = spec.mentions * 1.3 / max(total, 1)  # watch matches per run, on average
    start = END - timedelta(days=spec.days)
    started = time.monotonic()
    done = 0
    empty = SaveResult()
    store.conn.execute("BEGIN")
    for t in range(ticks):
        at = start + t * TICK
        for network, watch in sources:
            moment = at + timedelta(seconds=rng.random() * 60)
            run = store.start_run(network, watch, now=moment)
            error = message = reset = None
            u = rng.random()
            if u < 0.01:
                error, message = "unavailable", f"{network}: 503 Service Unavailable; retrying next cycle"
            elif network == "x" and u < 0.02:
                error, message = "rate-limited", "x: rate limit used up (429)"
                reset = moment + timedelta(minutes=15)
            if error:
                result, fetched = empty, 0
            else:
                new = int(rng.expovariate(1 / per_run)) if per_run > 0 else 0
                dup = rng.randrange(3)
                result, fetched = SaveResult(new=new, duplicates=dup), new + dup
            store.finish_run(run, result, fetched, error=error, error_message=message, rate_limit_reset=reset,
                             units=100 if network == "youtube" else 0,
                             now=moment + timedelta(seconds=0.5 + rng.random() * 3))  # fmt: skip
            done += 1
            if done % COMMIT_EVERY == 0:
                store.conn.execute("COMMIT")
                store.conn.execute("BEGIN")
            if done % 500_000 == 0:
                say("runs", done, total, started)
    store.conn.execute("COMMIT")
    say("runs", done, total, started)
    return done


def _store_rest(store: Store, spec: Spec, rng: random.Random, watches: list[tuple[str, str, str, str]],
                sources: list[tuple[str, str]]) -> None:  # fmt: skip
    """Cursors and jobs per source; an alert history, a few incidents per watch."""
    store.conn.execute("BEGIN")
    for network, watch in sources:
        store.save_page(Page(network=network, watch=watch, cursor=json.dumps({"since_id": "1"})), now=END)
    store.set_jobs([(f"collect:{n}:{w}", END + TICK) for n, w in sources] + [("digest", END)], now=END)
    start = END - timedelta(days=spec.days)
    for name, _, _, _ in watches:
        for _ in range(rng.randrange(5)):
            opened = start + timedelta(seconds=rng.random() * spec.days * 86400)
            kind = rng.choice(("volume", "negative"))
            severity = rng.choice(("info", "warning", "critical"))
            base = {"watch": name, "network": "", "kind": kind, "severity": severity, "started_at": opened,
                    "observed": 40.0, "expected": 8.0, "summary": f"{name}: {kind} up 5x"}  # fmt: skip
            store.alerts.record(AlertChange(state="opened", at=opened, **base), ())  # type: ignore[arg-type]
            resolved = opened + timedelta(hours=rng.randint(1, 12))
            if resolved < END:
                store.alerts.record(AlertChange(state="resolved", at=resolved, **base), ())  # type: ignore[arg-type]
    store.conn.execute("COMMIT")


def build(path: Path, mentions: int, watches: int = 500, days: int = 30, seed: int = 0, *,
          run_watches: int | None = None, scored: float = 0.9, quiet: bool = False) -> None:  # fmt: skip
    """Build the database at ``path`` (replacing a partial one); see the module's docstring.

    ``run_watches`` limits the per-source runs history to the first so many watches
    (all by default): 500 watches x 7 networks x 96 polls x 30 days is ~10M runs.
    ``scored`` is the share of mentions given a sentiment label, scattered at random:
    with 0.9, ``unscored(1)`` finds a row at once; 1.0 makes the scorer's check idle.
    """
    spec = Spec(mentions, watches, days, seed, scored, run_watches)
    rng = random.Random(seed)
    say = (lambda *a: None) if quiet else _progress
    path = Path(path)
    part = path.with_name(path.name + ".part")
    for leftover in (part, Path(f"{part}-wal"), Path(f"{part}-shm")):
        leftover.unlink(missing_ok=True)
    chosen = watch_list(watches)
    began = time.monotonic()
    store = _Batched.open(part)
    try:
        store.conn.execute("PRAGMA synchronous = OFF")
        store.conn.execute("PRAGMA cache_size = -262144")  # 256 MB
        store.sync_watches([(name, query) for name, query, _, _ in chosen], now=END - timedelta(days=days))
        _store_mentions(store, spec, rng, chosen, say)
        t_mentions = time.monotonic() - began
        limit = len(chosen) if run_watches is None else run_watches
        sources = [(n, name) for name, _, _, _ in chosen[:limit] for n in SEARCHING] + feeds()
        runs = _store_runs(store, spec, rng, sources, say)
        catch_up(store, seed)
        _store_rest(store, spec, rng, chosen, sources)
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    part.rename(path)
    took = time.monotonic() - began
    if not quiet:
        print(f"built {path}: {mentions:,} mentions in {t_mentions:.0f}s ({mentions / t_mentions:,.0f}/s), "
              f"{runs:,} runs, {took:.0f}s in all, {path.stat().st_size / 1e6:,.0f} MB", flush=True)  # fmt: skip
