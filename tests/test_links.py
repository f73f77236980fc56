"""Open and reply links per network (#21), from what the collectors store: their URLs and native ids."""

from __future__ import annotations

import pytest

from listener.links import open_url, reply_url

# (network, native id as the collector stores it, url as stored, open, reply)
CASES = [
    ("x", "1866000000000000001", "https://x.com/marta_l/status/1866000000000000001",
     "https://x.com/marta_l/status/1866000000000000001", "https://x.com/intent/post?in_reply_to=1866000000000000001"),
    ("x", "1866000000000000001", None,
     "https://x.com/i/web/status/1866000000000000001", "https://x.com/intent/post?in_reply_to=1866000000000000001"),
    ("hackernews", "40000001", "https://news.ycombinator.com/item?id=40000001",
     "https://news.ycombinator.com/item?id=40000001", "https://news.ycombinator.com/reply?id=40000001"),
    ("reddit", "t3_1abcde", "https://www.reddit.com/r/italy/comments/1abcde/doppio_addebito/",
     "https://www.reddit.com/r/italy/comments/1abcde/doppio_addebito/",
     "https://www.reddit.com/r/italy/comments/1abcde/doppio_addebito/"),
    ("reddit", "t3_1abcde", None, "https://www.reddit.com/comments/1abcde/", "https://www.reddit.com/comments/1abcde/"),
    ("reddit", "t1_k9zzz", "https://www.reddit.com/r/italy/comments/1abcde/doppio_addebito/k9zzz/",
     "https://www.reddit.com/r/italy/comments/1abcde/doppio_addebito/k9zzz/",
     "https://www.reddit.com/r/italy/comments/1abcde/doppio_addebito/k9zzz/"),
    ("reddit", "t1_k9zzz", None, None, None),  # a comment's page needs its post: no guessing
    ("mastodon", "mastodon.uno/113000000000000001", "https://mastodon.social/@marta/113000000000000009",
     "https://mastodon.social/@marta/113000000000000009", "https://mastodon.social/@marta/113000000000000009"),
    ("mastodon", "mastodon.uno/113000000000000001", None,  # the id is the one of the instance read
     "https://mastodon.uno/web/statuses/113000000000000001", "https://mastodon.uno/web/statuses/113000000000000001"),
    ("bluesky", "at://did:plc:abc123/app.bsky.feed.post/3kabc", "https://bsky.app/profile/marta.bsky.social/post/3kabc",
     "https://bsky.app/profile/marta.bsky.social/post/3kabc", "https://bsky.app/profile/marta.bsky.social/post/3kabc"),
    ("bluesky", "at://did:plc:abc123/app.bsky.feed.post/3kabc", None,
     "https://bsky.app/profile/did:plc:abc123/post/3kabc", "https://bsky.app/profile/did:plc:abc123/post/3kabc"),
    ("youtube", "dQw4w9WgXcQ", None, "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
    ("youtube", "UgwB89kCKhY-NS8-nqYrlS4AaABAg", "https://www.youtube.com/watch?v=AZ9__cwJf-H&lc=UgwB89kCKhY-NS8-nqYrlS4AaABAg",
     "https://www.youtube.com/watch?v=AZ9__cwJf-H&lc=UgwB89kCKhY-NS8-nqYrlS4AaABAg",
     "https://www.youtube.com/watch?v=AZ9__cwJf-H&lc=UgwB89kCKhY-NS8-nqYrlS4AaABAg"),
    ("youtube", "UgwB89kCKhY-NS8-nqYrlS4AaABAg", None, None, None),  # a comment id names no video
    ("facebook", "104000000000001_900", None,
     "https://www.facebook.com/104000000000001_900", "https://www.facebook.com/104000000000001_900"),
    ("instagram", "17900000000000001", "https://www.instagram.com/p/C0abc/",
     "https://www.instagram.com/p/C0abc/", "https://www.instagram.com/p/C0abc/"),
    ("instagram", "17900000000000001", None, None, None),
    ("rss", "https://news.example/aurora", "https://news.example/aurora", "https://news.example/aurora", None),
]  # fmt: skip


@pytest.mark.parametrize(("network", "native_id", "url", "opened", "replied"), CASES)
def test_links(
    network: str, native_id: str, url: str | None, opened: str | None, replied: str | None
) -> None:
    assert open_url(network, native_id, url) == opened
    assert reply_url(network, native_id, url) == replied


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<b>x</b>", "//evil.example/x", "https:///x", ""]
)
def test_a_hostile_stored_url_is_never_a_link(url: str) -> None:
    """A URL comes from the payload: only an http(s) address with a host is handed out."""
    assert open_url("instagram", "1790", url) is None
    assert open_url("x", "1866", url) == "https://x.com/i/web/status/1866"
    assert reply_url("reddit", "t1_abc", url) is None


def test_ids_that_are_not_what_the_network_uses_build_nothing() -> None:
    assert reply_url("x", "12 OR 1=1", None) is None and open_url("x", "../admin", None) is None
    assert reply_url("hackernews", "4000<b>", None) is None
    assert open_url("mastodon", "evil host/12", None) is None
    assert open_url("bluesky", "at://did:plc:x/app.bsky.feed.like/3k", None) is None
