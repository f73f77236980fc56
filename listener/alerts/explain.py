"""Why an alert fired: what rose, the words and people behind it, where it happens.

Driving terms are ranked by the log-odds ratio with an informative Dirichlet
prior (Monroe, Colaresi & Quinn, 2008) between the incident window and the
baseline before it: words frequent everywhere (stop words, the brand itself)
cancel out without a stop-word list, in any language.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from listener.query import tokens
from storage.store import WindowMention

__all__ = ["Terms", "driving_terms", "explain"]

_HASHTAG = re.compile(r"#\w+", re.UNICODE)


def _is_word(token: str) -> bool:
    return len(token) >= 3 and not token.isdigit()


@dataclass(frozen=True, slots=True)
class Terms:
    """One side of the comparison: how many posts carry each word and each hashtag.

    Counted once per side; the daemon keeps an incident's baseline side from pass to
    pass (``SeriesMemory.baseline``), since its week of posts does not move.
    """

    words: Counter[str]
    tags: Counter[str]
    posts: int

    @classmethod
    def of(cls, texts: Iterable[str]) -> Terms:
        words: Counter[str] = Counter()
        tags: Counter[str] = Counter()
        posts = 0
        for text in texts:
            words.update(t for t in set(tokens(text)) if _is_word(t))
            tags.update(h.lower() for h in set(_HASHTAG.findall(text)))
            posts += 1
        return cls(words, tags, posts)


def driving_terms(
    window: Terms, baseline: Terms, top: int = 8, exclude: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Terms over-represented in ``window`` against ``baseline``, by z-scored log-odds."""
    win = Counter({t: n for t, n in window.words.items() if t not in exclude})
    base = Counter({t: n for t, n in baseline.words.items() if t not in exclude})
    n_win, n_base = sum(win.values()), sum(base.values())
    if not n_win:
        return []
    prior = win + base
    alpha0 = sum(prior.values())
    scored: list[dict[str, Any]] = []
    for term, y_w in win.items():
        if y_w < 2:
            continue  # one post is an anecdote, not a driver
        a = prior[term] * 0.5  # a weak prior, half the pooled counts
        y_b = base[term]
        delta = math.log((y_w + a) / (n_win + alpha0 - y_w - a)) - math.log(
            (y_b + a) / (n_base + alpha0 - y_b - a)
        )
        z = delta / math.sqrt(1 / (y_w + a) + 1 / (y_b + a))
        if z > 1.96:
            scored.append({"term": term, "window": y_w, "baseline": y_b, "z": round(z, 2)})
    return sorted(scored, key=lambda t: (-t["z"], t["term"]))[:top]  # ties by name: sets have no stable order


def _function_words(window: Sequence[WindowMention]) -> frozenset[str]:
    """Short stop words of the window's languages ("and", "the", "per").

    The log-odds cancel words common everywhere, but not when the surge speaks
    another language than the baseline (an English wave on an Italian brand).
    Long stop-list entries ("order", "never") can carry the story: they stay.
    """
    from stop_words import StopWordError, get_stop_words

    words: set[str] = set()
    for lang in {(m.language or "").split("-")[0] for m in window} - {""}:
        try:
            words.update(w for w in get_stop_words(lang) if len(w) <= 4)
        except StopWordError:
            continue
    return frozenset(t for w in words for t in tokens(w))


def explain(
    window: Sequence[WindowMention],
    baseline: Terms,
    what: dict[str, Any],
    query_terms: frozenset[str] = frozenset(),
    top: int = 5,
) -> dict[str, Any]:
    """The explanation stored with an alert (JSON): plain data, rendered by ``message``."""
    terms = Terms.of(m.text for m in window)
    tags_win, tags_base = terms.tags, baseline.tags
    authors = Counter((m.network, m.author_handle) for m in window if m.author_handle)
    samples = sorted(window, key=lambda m: (m.engagement, m.created_at), reverse=True)[:3]
    hashtags: list[dict[str, Any]] = [
        {"tag": tag, "window": n, "baseline": tags_base[tag]}
        for tag, n in sorted(tags_win.items(), key=lambda kv: (-kv[1], kv[0]))[:top]  # ties by name
        if n > 1 and n / max(len(window), 1) > 2 * tags_base[tag] / max(baseline.posts, 1)
    ]
    # A rising hashtag is shown once, as a hashtag, not again as a word.
    tag_words = query_terms | {t for h in hashtags for t in tokens(h["tag"])} | _function_words(window)
    return {
        "what": what,
        "terms": driving_terms(terms, baseline, top + 3, tag_words),
        "hashtags": hashtags,
        "authors": [
            {"network": net, "handle": handle, "count": n}
            for (net, handle), n in authors.most_common(top)
            if n > 1
        ],
        "samples": [
            {
                "id": m.id,
                "network": m.network,
                "author": m.author_handle,
                "text": m.text,
                "url": m.url,
                "engagement": m.engagement,
                "created_at": m.created_at,
            }
            for m in samples
        ],
        "languages": dict(Counter(m.language or "?" for m in window).most_common()),
        "networks": dict(Counter(m.network for m in window).most_common()),
    }
