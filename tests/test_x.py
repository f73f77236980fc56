"""The X collector against recorded real responses (vcrpy) and the local X server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import vcr  # type: ignore[import-untyped]
from vcr.filters import decode_response  # type: ignore[import-untyped]
from vcr.persisters.filesystem import FilesystemPersister  # type: ignore[import-untyped]

from collectors.x import Settings, XCollector, normalize_page, to_x_query
from listener.demo.xserver import XServer
from listener.errors import AuthError, CollectorError
from listener.model import Feed, Watch
from listener.query import Query, parse

TOKEN = "test-bearer-0123456789"
ENV = {"X_BEARER_TOKEN": TOKEN}
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class _GunzipPersister(FilesystemPersister):  # type: ignore[misc]
    """The tweepy cassettes store gzip bodies; under urllib3 2 playback would hand them back compressed."""

    @classmethod
    def load_cassette(cls, cassette_path: Any, serializer: Any) -> tuple[Any, Any]:
        requests, responses = super().load_cassette(cassette_path, serializer)
        return requests, [decode_response(r) for r in responses]


def _replay() -> vcr.VCR:
    # Our requests add expansions, fields, max_results: match without the query string.
    recorder = vcr.VCR(record_mode="none", match_on=["method", "scheme", "host", "port", "path"])
    recorder.register_persister(_GunzipPersister)
    return recorder


def watch(name: str, query: str) -> Watch:
    return Watch(name, query, parse(query))


@pytest.fixture
def tweepy_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "tweepy"


def test_recent_search_recording_normalises_ids_times_and_urls(tweepy_dir: Path) -> None:
    collector = XCollector(Settings(pages_per_run=1), ENV)
    with _replay().use_cassette(str(tweepy_dir / "test_client_search_recent_tweets.yaml")) as cassette:
        pages = list(collector.fetch(watch("tweepy", "Tweepy"), None))
    assert cassette.play_count == 1
    [page] = pages
    assert len(page.mentions) == 10 and not page.rejects
    first = page.mentions[0]
    assert first.native_id == "1578516068309794817"
    assert first.text == "2022-10-07 22:42:12.637103 tweepy"
    assert first.url == "https://x.com/i/web/status/1578516068309794817"
    assert (first.author_handle, first.language, first.in_reply_to_id) == (None, None, None)
    # No created_at was requested in 2022: the time comes from the id. Each of these posts
    # states in its text when the test bot wrote it, a fraction of a second before X got it.
    for mention in page.mentions:
        stated = datetime.fromisoformat(mention.text.split(" tweepy")[0]).replace(tzinfo=UTC)
        assert mention.created_at.tzinfo == UTC
        assert timedelta(0) <= mention.created_at - stated < timedelta(seconds=1)
    assert first.created_at == datetime(2022, 10, 7, 22, 42, 12, 752000, tzinfo=UTC)
    # The page budget ran out with a next_token: the cursor resumes the walk, since_id stays.
    assert json.loads(page.cursor or "") == {
        "since_id": None,
        "resume": {
            "next_token": "b26v89c19zqg8o3fpzbn1e0ffhxjiofzw6po136rvbnul",
            "newest_id": "1578516068309794817",
        },
    }


def test_mentions_recording_for_an_account_id(tweepy_dir: Path) -> None:
    collector = XCollector(Settings(accounts=("783214",), pages_per_run=1), ENV)
    feed, own = collector.feeds()
    assert (feed.name, own.name, feed.keep_all, own.keep_all) == ("@783214", "posts:@783214", True, True)
    with _replay().use_cassette(str(tweepy_dir / "test_client_get_users_mentions.yaml")):
        [page] = collector.fetch(feed, None)
    ids = [m.native_id for m in page.mentions]
    assert ids[0] == "1578516295611748353" and len(ids) == 10 == len(set(ids))
    assert all("@twitter" in m.text.lower() for m in page.mentions)
    assert page.mentions[1].text.startswith("Good @WilliamCohan financial dissection")
    assert all(m.network == "x" and m.created_at.year == 2022 for m in page.mentions)


def test_a_recorded_page_with_a_broken_item_keeps_the_rest(tweepy_dir: Path) -> None:
    text = (tweepy_dir / "test_client_get_quote_tweets.yaml").read_text()
    recorded = vcr.serializers.yamlserializer.deserialize(text)["interactions"][0]["response"]
    body = json.loads(decode_response(recorded)["body"]["string"])
    body["data"][2] = {"id": "not-a-number", "text": "?"}
    del body["data"][4]["text"]
    mentions, rejects = normalize_page(body)
    assert len(mentions) == 7
    assert [r.reason for r in rejects] == [
        "missing or invalid field 'id': 'not-a-number'",
        "missing field 'text'",
    ]
    assert rejects[1].native_id == body["data"][4]["id"] and rejects[1].raw == body["data"][4]


@pytest.mark.parametrize(
    ("query", "expected", "exact"),
    [
        (
            '"Caffè Aurora" OR #caffeaurora OR caffeaurora.it',
            '("Caffè Aurora" OR #caffeaurora OR caffeaurora.it)',
            True,
        ),
        ("aurora -lavoro lang:it", "aurora -lavoro lang:it", True),
        ("author:@Aurora_Official network:x", "from:Aurora_Official", True),
        ("aurora network:reddit", False, True),
        ("aurora OR network:reddit", "aurora", True),
        ("caff* aurora", "aurora", False),
        ("aurora -site:example.com", "aurora", False),
        ("lang:it", "lang:it", True),
        ("caff*", True, False),
    ],
)
def test_watch_queries_compile_to_x_syntax(query: str, expected: str | bool, exact: bool) -> None:
    assert to_x_query(Query.parse(query)) == (expected, exact)


# -- against the local X server ---------------------------------------------


@pytest.fixture
def server() -> Iterator[XServer]:
    with XServer(token=TOKEN, clock=lambda: T0 + timedelta(days=1)) as running:
        yield running


def settings(server: XServer, **overrides: Any) -> Settings:
    return Settings(api_base_url=server.url, retry_backoff_seconds=0, **overrides)


def test_expansions_give_authors_replies_language_and_metrics(server: XServer) -> None:
    root = server.add_post("aurora_official", "Nuova miscela Caffè Aurora!", T0, lang="it", likes=4)
    server.add_post("giulia", "@aurora_official buonissima, ma il prezzo?", T0 + timedelta(minutes=5),
                    lang="it", reply_to=root)  # fmt: skip
    [page] = XCollector(settings(server), ENV).fetch(
        watch("brand", '"caffè aurora" OR aurora_official'), None
    )
    reply, original = page.mentions
    assert (reply.author_handle, reply.author_name, reply.language) == ("giulia", "giulia", "it")
    assert reply.in_reply_to_id == original.native_id == reply.conversation_id
    assert reply.created_at == T0 + timedelta(minutes=5)
    assert reply.url == f"https://x.com/giulia/status/{reply.native_id}"
    assert original.like_count == 4 and original.reply_count == 1
    assert reply.raw["includes"]["tweets"][0]["id"] == root
    assert json.loads(page.cursor or "") == {"since_id": reply.native_id}
    request = server.requests[-1]
    assert request.params["query"] == '("caffè aurora" OR aurora_official)'
    assert "author_id" in request.params["expansions"] and "created_at" in request.params["tweet.fields"]


def test_pagination_follows_next_token_and_resumes_after_the_page_budget(server: XServer) -> None:
    for i in range(25):
        server.add_post(f"user{i % 4}", f"aurora {i}", T0 + timedelta(minutes=i))
    collector = XCollector(settings(server, max_results=10, pages_per_run=2), ENV)
    first = list(collector.fetch(watch("brand", "aurora"), None))
    assert [len(p.mentions) for p in first] == [10, 10]
    cursor = json.loads(first[-1].cursor or "")
    assert cursor["since_id"] is None and cursor["resume"]["next_token"]
    rest = list(collector.fetch(watch("brand", "aurora"), first[-1].cursor))
    assert [len(p.mentions) for p in rest] == [5]
    assert json.loads(rest[-1].cursor or "") == {"since_id": first[0].mentions[0].native_id}
    seen = [m.text for p in first + rest for m in p.mentions]
    assert sorted(seen) == sorted(f"aurora {i}" for i in range(25))


def test_account_handles_are_resolved_once(server: XServer) -> None:
    server.add_user("aurora_official")
    server.add_post("marco", "Ciao @aurora_official, aprite a Torino?", T0)
    collector = XCollector(settings(server, accounts=("@aurora_official",)), ENV)
    for _ in range(2):
        [page] = collector.fetch(Feed("@aurora_official", keep_all=True), None)
        assert [m.author_handle for m in page.mentions] == ["marco"]
    assert [r.path for r in server.requests].count("/2/users/by") == 1


def test_the_own_posts_feed_reads_the_account_timeline(server: XServer) -> None:
    server.add_user("caffe_aurora", "Caffè Aurora")
    mine = server.add_post("caffe_aurora", "Da oggi la miscela Alba!", T0)
    server.add_post("marco", "@caffe_aurora che prezzi!", T0 + timedelta(minutes=1))
    collector = XCollector(settings(server, accounts=("caffe_aurora",)), ENV)
    [page] = collector.fetch(Feed("posts:@caffe_aurora", keep_all=True), None)
    assert [(m.native_id, m.author_handle, m.author_name) for m in page.mentions] == [
        (mine, "caffe_aurora", "Caffè Aurora")
    ]
    assert server.requests[-1].path.endswith("/tweets") and json.loads(page.cursor or "") == {
        "since_id": mine
    }


def test_errors_name_the_watch_and_the_fix(server: XServer) -> None:
    server.token = "another"
    with pytest.raises(AuthError) as caught:
        list(XCollector(settings(server), ENV).fetch(watch("brand", "aurora"), None))
    assert (
        str(caught.value)
        == "x (watch 'brand'): token rejected (401); set X_BEARER_TOKEN to a valid bearer token"
    )
    with pytest.raises(AuthError, match=r"bearer token missing; set X_BEARER_TOKEN"):
        XCollector(settings(server), {})
    with pytest.raises(CollectorError, match=r"nothing X can search for in 'lang:it'; add a word"):
        list(XCollector(settings(server), ENV).fetch(watch("brand", "lang:it"), None))


def test_a_query_for_another_network_asks_nothing(server: XServer) -> None:
    assert list(XCollector(settings(server), ENV).fetch(watch("r", "aurora network:reddit"), None)) == []
    assert server.requests == []


def test_snowflake_ids_from_the_server_sort_by_time(server: XServer) -> None:
    a = server.add_post("a", "one", T0)
    b = server.add_post("b", "two", T0 + timedelta(seconds=1))
    assert int(a) < int(b) and re.fullmatch(r"\d{19}", a)
