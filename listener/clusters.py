"""Near-duplicate clusters: the same story re-shared, with small changes, across networks.

Two mentions tell the same story when they carry the same article link (host and
path, tracking parameters dropped), or when their normalised texts are near
duplicates: exact Jaccard similarity of their shingles at least ``threshold``.
Candidates are found with MinHash LSH (datasketch): each mention's signature is
cut into bands, and the band keys are stored (``cluster_bands``), so a new mention
meets the earlier ones that share a band by index lookup, never by loading the
window. Candidates are then verified on their real shingles, so LSH only decides
who gets compared, never who matches.

Normalising drops what re-sharing changes: case, accents, the ``RT`` prefix and
``@handles``, hashtag signs, punctuation and emoji; a URL becomes its normalised
form, compared apart from the text. Shingles are character 4-grams of the normalised
words: one edited word changes a few of them, not the whole set, and short and long
posts compare alike.
A short post must be closer (``short_threshold``): in five words the brand's name
is most of the text. A long post cut short by a re-sharer (a character limit, an
ellipsis) is matched by containment rather than Jaccard.

A new mention joins the cluster of its best match among mentions created within
``window`` of it; with none, it starts a cluster of its own (the cluster id is its
mention id). Only a mention whose link ties it to one cluster while its text
matches another merges them (into the older): otherwise clusters never merge, so
a chain of small edits cannot glue unrelated stories together.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

from listener.records import utc_iso
from storage.clusters import Pending, Spread
from storage.interfaces import ListenerStore
from storage.store import WindowMention

T = TypeVar("T")

__all__ = [
    "ClusterParams",
    "Features",
    "assign_clusters",
    "cluster_samples",
    "collapse",
    "features",
    "jaccard",
    "normalise",
    "normalise_url",
    "same_story",
    "similarity",
]

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w.])@[\w.\-]+(?:@[\w.\-]+)?")  # @user, @user@instance (Mastodon)
_RT = re.compile(r"^\W*\brt\b[\s:]*", re.IGNORECASE)  # "RT @x:" once the handle is gone; not "via" (a street)
_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d")
# Query parameters that say who shared a link, not what it points to.
_TRACKING = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|igsh|si|s|t|ref|ref_src|ref_url|"
    r"source|src|cmpid|campaign|share|shared|_ga|_gl|yclid|spm|feature|__twitter_impression|amp)$",
    re.IGNORECASE,
)
# Hosts where a one-segment path is a profile, channel or topic page, not an article.
_SOCIAL = {
    "twitter.com", "x.com", "instagram.com", "facebook.com", "youtube.com", "tiktok.com", "reddit.com",
    "linkedin.com", "threads.net", "bsky.app", "mastodon.social", "news.ycombinator.com",
}  # fmt: skip
_TOPIC_SEGMENTS = {
    "hashtag",
    "hashtags",
    "tags",
    "tag",
    "explore",
    "r",
    "u",
    "user",
    "search",
    "topics",
    "in",
}


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """Knobs of near-duplicate detection, tuned on ``tests/data/clusters.jsonl``."""

    threshold: float = 0.55  # exact Jaccard of shingles to be the same story
    short_words: int = 8  # a post with fewer words must be closer: a word or two is the whole story
    short_threshold: float = 0.65
    char_n: int = 4  # character n-grams of the normalised words: robust to small edits
    contain_min: int = 80  # shingles the shorter text needs for containment to count (a cut-short copy)
    contain_weight: float = 0.9  # containment counts a little less than Jaccard
    num_perm: int = 128
    bands: int = 32  # 32 bands of 4 rows: a pair at J=0.5 meets with p=0.87, at J=0.7 with p>0.999
    candidates: int = 20  # most band-sharing candidates verified per mention (bounds a viral burst)
    window: timedelta = timedelta(days=7)
    batch: int = 2000

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands


DEFAULT = ClusterParams()


@dataclass(frozen=True, slots=True)
class Features:
    """What clustering compares of one mention."""

    shingles: frozenset[str]
    links: tuple[str, ...]  # normalised article links in the text
    numbers: frozenset[str]
    words: int


def normalise_url(url: str) -> str | None:
    """``host/path?kept=params`` for a link: lowercase host without ``www.``/``m.``, no tracking
    parameters, no fragment, no trailing slash; None for something that is not a web link."""
    raw = url.rstrip(".,;:!?)]}'\"»…")
    if raw.lower().startswith("www."):
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    for prefix in ("www.", "m.", "mobile.", "amp."):
        host = host.removeprefix(prefix)
    path = re.sub(r"/+", "/", parts.path).rstrip("/")
    path = path.removesuffix("/amp")
    query = sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    )
    return host + path + (f"?{urlencode(query)}" if query else "")


def _is_article(link: str) -> bool:
    """A link to something specific: not a home page, nor a profile or hashtag page."""
    host, _, rest = link.partition("/")
    path = rest.partition("?")[0]
    segments = [s for s in path.split("/") if s]
    if "?" in link:
        return True  # youtube.com/watch?v=...: the query names the thing
    if not segments:
        return False
    return not (host in _SOCIAL and (len(segments) <= 1 or segments[0].lower() in _TOPIC_SEGMENTS))


class _Uncombined(dict[int, int | None]):
    """``str.translate`` table: combining marks to nothing, other characters to themselves,
    each looked up once (``unicodedata.combining``) and then answered in C."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.combining(chr(code)) else code
        self[code] = value
        return value


_UNCOMBINED = _Uncombined()


def _fold(text: str) -> str:
    """Lowercase without accents: ``Caffè`` and ``caffe`` are one word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return decomposed if decomposed.isascii() else decomposed.translate(_UNCOMBINED)


def normalise(text: str) -> tuple[list[str], tuple[str, ...]]:
    """(words, normalised article links) of a post's text, less what re-sharing changes.

    Links are compared on their own, not as words: a long URL would otherwise outweigh
    the text, and two posts linking different articles would look alike through the host.
    """
    links: list[str] = []

    def url(match: re.Match[str]) -> str:
        link = normalise_url(match.group())
        if link is not None and _is_article(link):
            links.append(link)
        return " "

    body = _RT.sub("", _HANDLE.sub(" ", _URL.sub(url, text)))
    words = [w.replace("_", "") or w for w in _WORD.findall(_fold(body))]
    return words, tuple(dict.fromkeys(links))


def features(text: str, params: ClusterParams = DEFAULT) -> Features:
    words, links = normalise(text)
    joined = " ".join(words)
    n = params.char_n
    grams = (
        frozenset(joined[i : i + n] for i in range(max(len(joined) - n + 1, 1))) if joined else frozenset()
    )
    numbers = frozenset(w for w in words if _NUMBER.search(w))
    return Features(grams, links, numbers, len(words))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)  # |a | b|, without building it


def similarity(a: Features, b: Features, params: ClusterParams = DEFAULT) -> float:
    """Jaccard of the shingles, or, for a long text cut short by a re-sharer, its containment."""
    if not a.shingles or not b.shingles:
        return 0.0
    small, large = sorted((a.shingles, b.shingles), key=len)
    shared = len(small & large)
    score = shared / (len(small) + len(large) - shared)
    if len(small) >= params.contain_min:
        score = max(score, shared / len(small) * params.contain_weight)
    return score


@cache
def _template(num_perm: int) -> Any:
    """A MinHash whose permutations the others share: drawing them is most of the cost of one.

    datasketch (it brings scipy) is imported by clustering, not by the digest or the alerts,
    which import this module for ``collapse``.
    """
    from datasketch import MinHash  # type: ignore[import-untyped]

    return MinHash(num_perm=num_perm, seed=1)


def _signature_keys(shingles: Iterable[str], params: ClusterParams) -> list[int]:
    """The LSH band keys of a shingle set: one signed 64-bit int per band."""
    from datasketch import MinHash

    m = MinHash(
        num_perm=params.num_perm, hashfunc=zlib.crc32, permutations=_template(params.num_perm).permutations
    )
    m.update_batch([s.encode("utf-8") for s in shingles])
    values = m.hashvalues
    keys = []
    r = params.rows
    for band in range(params.bands):
        digest = hashlib.blake2b(values[band * r : (band + 1) * r].tobytes(), digest_size=8,
                                 person=band.to_bytes(4, "little")).digest()  # fmt: skip
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


def same_story(a: Features, b: Features, params: ClusterParams = DEFAULT) -> float:
    """How alike two mentions are: 0 when not the same story, else the similarity (1 for a shared link)."""
    if a.links and set(a.links) & set(b.links):
        return 1.0
    score = similarity(a, b, params)
    short = min(a.words, b.words) < params.short_words
    if score < (params.short_threshold if short else params.threshold):
        return 0.0
    if a.links and b.links:
        return 0.0  # each links an article, not the same one
    if score < 0.9 and a.numbers - b.numbers and b.numbers - a.numbers:
        return 0.0  # same template, different story: each has a number the other lacks
    return score


@dataclass(slots=True)
class _Seen:
    cluster_id: int
    created_at: datetime
    text: str
    _features: Features | None = None

    def features(self, params: ClusterParams) -> Features:
        """Computed when first compared: most members a lookup returns never are."""
        if self._features is None:
            self._features = features(self.text, params)
        return self._features


_KNOWN_MAX = 20_000  # members whose features one assign_clusters call keeps between batches (~10 kB each)


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def assign_clusters(store: ListenerStore, params: ClusterParams = DEFAULT, limit: int | None = None) -> int:
    """Cluster the mentions not clustered yet against those within ``window``; return how many.

    Batches of ``params.batch``: one candidate lookup per batch, one write per batch.
    Band keys of mentions older than twice the window before the newest one are pruned.
    """
    done = 0
    newest = ""
    known: dict[int, _Seen] = {}  # members met by earlier batches: their features are computed once
    while limit is None or done < limit:
        pending = store.clusters.pending(
            min(params.batch, limit - done) if limit is not None else params.batch
        )
        if not pending:
            break
        if len(known) > _KNOWN_MAX:
            known.clear()
        done += _assign_batch(store, pending, params, known)
        newest = max(newest, *(p.created_at for p in pending))
    if newest:
        store.clusters.prune(utc_iso(_moment(newest) - 2 * params.window))
    return done


def _assign_batch(
    store: ListenerStore,
    pending: Sequence[Pending],
    params: ClusterParams,
    known: dict[int, _Seen] | None = None,
) -> int:
    batch = _Batch(store, pending, params, known)
    for p in pending:
        batch.assign(p)
    if known is not None:
        known.update(batch.seen)
    return batch.save(store)


class _Batch:
    """One batch's candidate index: band keys and links to the mentions that have them, and clusters.

    Mentions of the batch join the index as they are assigned, so a story that
    first appears inside one batch still forms one cluster.
    """

    def __init__(
        self,
        store: ListenerStore,
        pending: Sequence[Pending],
        params: ClusterParams,
        known: dict[int, _Seen] | None = None,
    ) -> None:
        self.params = params
        self.feats = {p.id: features(p.text, params) for p in pending}
        self.keys = {
            i: _signature_keys(f.shingles, params) if f.shingles else [] for i, f in self.feats.items()
        }
        times = [_moment(p.created_at) for p in pending]
        start, end = utc_iso(min(times) - params.window), utc_iso(max(times) + params.window)
        bands, linked, members = store.clusters.candidates(
            (k for ks in self.keys.values() for k in ks),
            (link for f in self.feats.values() for link in f.links),
            start,
            end,
        )
        self.by_key: dict[int, set[int]] = defaultdict(set)
        for key, mention in bands:
            self.by_key[key].add(mention)
        self.by_link: dict[str, set[int]] = defaultdict(set)
        for link, mention in linked:
            self.by_link[link].add(mention)
        known = known or {}
        self.seen = {}
        for m in members.values():
            seen = _Seen(m.cluster_id, _moment(m.created_at), m.text)
            earlier = known.get(m.id)
            if earlier is not None and earlier.text == m.text:
                seen._features = earlier._features  # the cluster may have moved since: not the features
            self.seen[m.id] = seen
        self.assignments: list[tuple[int, int, str | None]] = []
        self.band_rows: list[tuple[int, int]] = []
        self.merges: list[tuple[int, int]] = []  # (cluster, the cluster it joins)
        self.alias: dict[int, int] = {}

    def resolve(self, cluster: int) -> int:
        while cluster in self.alias:
            cluster = self.alias[cluster]
        return cluster

    def _near(self, p: Pending) -> list[int]:
        """The candidates: those sharing a link, then those sharing most bands (most alike), capped."""
        shared = Counter(c for k in self.keys[p.id] for c in self.by_key.get(k, ()))
        near = [c for link in self.feats[p.id].links for c in sorted(self.by_link.get(link, ()))]
        return near + [
            c for c, _ in sorted(shared.items(), key=lambda x: (-x[1], x[0]))[: self.params.candidates]
        ]

    def _matches(self, p: Pending, at: datetime) -> set[int]:
        """The clusters ``p`` belongs to: every one its links tie it to, and the one its text is most like."""
        f, params = self.feats[p.id], self.params
        best, best_score = None, 0.0
        linked_to: set[int] = set()
        for c in self._near(p):
            other = self.seen.get(c)
            if other is None or c == p.id or abs(other.created_at - at) > params.window:
                continue
            if set(f.links) & set(other.features(params).links):
                linked_to.add(self.resolve(other.cluster_id))
                continue
            score = same_story(f, other.features(params), params)
            if score > best_score:
                best, best_score = other, score
        return linked_to | ({self.resolve(best.cluster_id)} if best else set())

    def assign(self, p: Pending) -> None:
        at, f = _moment(p.created_at), self.feats[p.id]
        matched = self._matches(p, at)
        # Its link ties it to some clusters, its text to another: they were one story all along.
        cluster = min(matched) if matched else p.id
        for other_cluster in matched - {cluster}:
            self.alias[other_cluster] = cluster
            self.merges.append((other_cluster, cluster))
        self.assignments.append((p.id, cluster, f.links[0] if f.links else None))
        self.band_rows.extend((k, p.id) for k in self.keys[p.id])
        self.seen[p.id] = _Seen(cluster, at, p.text, f)
        for k in self.keys[p.id]:
            self.by_key[k].add(p.id)
        for link in f.links:
            self.by_link[link].add(p.id)

    def save(self, store: ListenerStore) -> int:
        assignments = [(mention, self.resolve(cluster), link) for mention, cluster, link in self.assignments]
        store.clusters.save(assignments, self.band_rows, self.merges)
        return len(assignments)


def cluster_samples(
    store: ListenerStore, window: Sequence[WindowMention], samples: Sequence[dict[str, Any]], limit: int = 3
) -> list[dict[str, Any]]:
    """An alert's example posts, one per cluster, each with ``copies`` and the ``spread`` networks.

    Chosen as ``explain`` chooses (most engaged first) but over the whole window, so that
    three copies of one story leave room for two other stories.
    """
    if not any(m.id for m in window):
        return list(samples)
    ranked = sorted(window, key=lambda m: (m.engagement, m.created_at), reverse=True)
    spreads = store.clusters.spread_of(m.id for m in ranked)
    out = []
    for m, spread in collapse(ranked, spreads)[:limit]:
        out.append({
            "id": m.id, "network": m.network, "author": m.author_handle, "text": m.text, "url": m.url,
            "engagement": m.engagement, "created_at": m.created_at,
            "copies": spread.size - 1 if spread else 0,
            "spread": list(spread.others(m.network)) if spread else [],
        })  # fmt: skip
    return out


def collapse(
    items: Sequence[T], spreads: Mapping[int, Spread], key: str = "id"
) -> list[tuple[T, Spread | None]]:
    """Keep the first item of each cluster (``items`` in display order), with its cluster's spread."""
    out: list[tuple[T, Spread | None]] = []
    shown: set[int] = set()
    for item in items:
        spread = spreads.get(getattr(item, key))
        if spread is not None:
            if spread.cluster_id in shown:
                continue
            shown.add(spread.cluster_id)
        out.append((item, spread))
    return out
