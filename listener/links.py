"""Where to open a mention and where to answer it, per network (#21).

The digest, the alerts and the inbox link every story to its original and to the place
where a reply is written. Most networks put the reply box on the post's own page; X and
Hacker News have a reply page of their own, addressed by the native id the collectors
store (X's numeric post id, Hacker News' numeric item id). A stored URL comes from the
internet: only an http(s) address is handed out, else one built from the native id (the
forms the collectors write: Reddit ``t1_``/``t3_`` fullnames, Mastodon
``host/status id``, Bluesky ``at://did/app.bsky.feed.post/rkey``, YouTube video ids
and ``Ug...`` comment ids), or nothing.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

__all__ = ["open_url", "reply_url"]

_NUMERIC = re.compile(r"\d{1,25}")
_VIDEO = re.compile(r"[A-Za-z0-9_-]{11}")  # a YouTube video id; comment ids are longer
_HOST = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")


def _web(url: str | None) -> str | None:
    """``url`` if it is an http(s) address with a host (never ``javascript:``), else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def _built(network: str, native_id: str) -> str | None:
    """The post's page from its native id alone, where the id says enough."""
    if network == "x" and _NUMERIC.fullmatch(native_id):
        return f"https://x.com/i/web/status/{native_id}"
    if network == "hackernews" and _NUMERIC.fullmatch(native_id):
        return f"https://news.ycombinator.com/item?id={native_id}"
    if network == "reddit" and native_id.startswith("t3_"):
        return f"https://www.reddit.com/comments/{quote(native_id[3:], safe='')}/"
    if network == "mastodon" and "/" in native_id:
        host, status = native_id.rsplit("/", 1)
        if _HOST.fullmatch(host) and _NUMERIC.fullmatch(status):
            return f"https://{host}/web/statuses/{status}"
    if network == "bluesky" and native_id.startswith("at://"):
        did, _, rkey = native_id[5:].partition("/app.bsky.feed.post/")
        if did and rkey:
            return f"https://bsky.app/profile/{quote(did, safe=':')}/post/{quote(rkey, safe='')}"
    if network == "youtube" and _VIDEO.fullmatch(native_id):
        return f"https://www.youtube.com/watch?v={native_id}"
    if network == "facebook" and re.fullmatch(r"[\d_]{1,64}", native_id):
        return f"https://www.facebook.com/{native_id}"
    return None


def open_url(network: str, native_id: str, url: str | None) -> str | None:
    """The original post: its stored address, else one built from its native id; None if neither."""
    return _web(url) or _built(network, native_id)


def reply_url(network: str, native_id: str, url: str | None) -> str | None:
    """Where to answer the post: X's and Hacker News' reply pages, the post's own page elsewhere.

    RSS and Atom entries are articles on someone else's site: nothing to answer there (None).
    """
    if network == "x" and _NUMERIC.fullmatch(native_id):
        return f"https://x.com/intent/post?in_reply_to={native_id}"
    if network == "hackernews" and _NUMERIC.fullmatch(native_id):
        return f"https://news.ycombinator.com/reply?id={native_id}"
    if network == "rss":
        return None
    return open_url(network, native_id, url)
