"""Near-duplicate clusters: stories across networks, hard negatives, and the labelled set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner

from listener.alerts.message import build_message
from listener.cli import cli
from listener.clusters import ClusterParams, assign_clusters, cluster_samples, normalise, normalise_url
from listener.model import Mention, Page
from listener.query import parse
from listener.records import utc_iso
from storage import SearchFilters, Store
from storage.alerts import AlertRow
from storage.pg.store import PgStore
from tests.backends import Backend
from tests.clusters_labelled import load, pairwise

T0 = datetime(2024, 5, 2, 8, tzinfo=UTC)
STORY = (
    "Caffè Aurora richiama un lotto di capsule Intenso per possibile presenza di frammenti di plastica. "
    "Controllate il lotto L2403 sulla confezione"
)
# Floors for the labelled set, below the measured figures (P 1.000, R 1.000 at the defaults):
# the set is what the thresholds were tuned on, so a fresh set would do a little worse.
MIN_PRECISION = 0.95
MIN_RECALL = 0.9


def save(store: Store | PgStore, *mentions: Mention) -> dict[str, int]:
    for network in sorted({m.network for m in mentions}):
        store.save_page(Page(network, "brand", [m for m in mentions if m.network == network]))
    return {
        f"{net}/{nid}": mid
        for net, nid, mid in store.conn.execute("SELECT network, native_id, id FROM mentions").fetchall()
    }


def clusters(store: Store | PgStore) -> dict[str, int]:
    rows = store.conn.execute(
        "SELECT m.network || '/' || m.native_id, c.cluster_id FROM mentions m "
        "JOIN mention_clusters c ON c.mention_id = m.id"
    )
    return dict(rows.fetchall())


def test_urls_lose_tracking_and_noise() -> None:
    assert (
        normalise_url("https://www.Example.com/a/b/?utm_source=x&fbclid=1&id=3#top") == "example.com/a/b?id=3"
    )
    assert normalise_url("https://m.youtube.com/watch?v=abc&feature=share&si=x") == "youtube.com/watch?v=abc"
    assert normalise_url("ftp://example.com/x") is None
    words, links = normalise(
        "RT @bob: Caffè AURORA richiama… https://x.example/n/1?utm_medium=s #CaffeAurora @a@b.social"
    )
    assert words == ["caffe", "aurora", "richiama", "caffeaurora"]
    assert links == ("x.example/n/1",)
    # A home page, a profile or a hashtag page is no article: sharing one says nothing.
    assert (
        normalise(
            "https://caffeaurora.example/ https://x.com/caffeaurora https://instagram.com/explore/tags/c"
        )[1]
        == ()
    )


def test_one_story_edited_on_three_networks_is_one_cluster(backend: Backend) -> None:
    store = backend.store
    ids = save(
        store,
        Mention("x", "1", STORY, T0),
        Mention(
            "mastodon",
            "2",
            f"{STORY.replace('Caffè', 'Caffe')}! #CaffeAurora #richiamo",
            T0 + timedelta(hours=1),
        ),
        Mention("bluesky", "3", f"⚠️ RT @giornale: {STORY.lower()}…", T0 + timedelta(hours=3)),
        Mention("x", "4", "Colazione al sole con il mio espresso preferito #CaffeAurora", T0),
    )
    assert assign_clusters(store) == 4
    c = clusters(store)
    first = min(ids["x/1"], ids["mastodon/2"], ids["bluesky/3"])
    assert c["x/1"] == c["mastodon/2"] == c["bluesky/3"] == first  # the first stored names the cluster
    assert c["x/4"] == ids["x/4"]
    spread = store.clusters.spread_of([ids["x/1"]])[ids["x/1"]]
    assert (spread.size, spread.others("x")) == (3, ("bluesky", "mastodon"))
    assert assign_clusters(store) == 0  # nothing pending any more


def test_unrelated_posts_sharing_a_hashtag_stay_apart(backend: Backend) -> None:
    store = backend.store
    save(
        store,
        Mention(
            "x", "1", "Colazione al sole con il mio espresso preferito #CaffeAurora #coffee #buongiorno", T0
        ),
        Mention(
            "x",
            "2",
            "Meeting at 9 and the office machine is empty again #CaffeAurora #coffee #buongiorno",
            T0,
        ),
        Mention(
            "reddit",
            "3",
            "Le capsule Aurora sono compatibili con la Vertuo? #CaffeAurora #coffee #buongiorno",
            T0,
        ),
        Mention(
            "x",
            "4",
            "Vinci una macchina Caffè Aurora! Tagga 3 amici. Estrazione il 12 maggio #CaffeAurora",
            T0,
        ),
        Mention(
            "x",
            "5",
            "Vinci una macchina Caffè Aurora! Tagga 5 amici. Estrazione il 19 giugno #CaffeAurora",
            T0,
        ),
    )
    assign_clusters(store)
    assert len(set(clusters(store).values())) == 5


def test_a_shared_article_link_makes_one_cluster_whatever_the_words(backend: Backend) -> None:
    store = backend.store
    save(
        store,
        Mention("x", "1", "Read this: https://news.example/2024/05/aurora-ceo?utm_source=x", T0),
        Mention("facebook", "2", "L'AD parla di filiera https://www.news.example/2024/05/aurora-ceo/", T0),
        Mention("x", "3", "Read this: https://news.example/2024/05/aurora-results", T0),
    )
    assign_clusters(store)
    c = clusters(store)
    assert c["x/1"] == c["facebook/2"] != c["x/3"]
    assert backend.rows("SELECT link FROM mention_clusters WHERE link IS NOT NULL ORDER BY 1") == [
        ("news.example/2024/05/aurora-ceo",), ("news.example/2024/05/aurora-ceo",),
        ("news.example/2024/05/aurora-results",)]  # fmt: skip


def test_assignment_is_incremental_bounded_by_the_window_and_follows_edits(backend: Backend) -> None:
    store = backend.store
    ids = save(store, Mention("x", "1", STORY, T0))
    assign_clusters(store)
    save(store, Mention("reddit", "2", STORY + " Che schifo.", T0 + timedelta(days=2)),
         Mention("reddit", "3", STORY, T0 + timedelta(days=9)))  # fmt: skip
    assert assign_clusters(store, ClusterParams(batch=1)) == 2  # one by one: each sees the ones before
    c = clusters(store)
    assert c["reddit/2"] == ids["x/1"]
    assert c["reddit/3"] == ids["x/1"]  # within 7 days of reddit/2, which is in the cluster
    # An edit re-collected makes the mention pending again; it is clustered by its new text.
    store.save_page(Page("x", "brand", [Mention("x", "1", "Tutt'altra storia: nuovo negozio a Bologna", T0)]))
    assert store.clusters.count_pending() == 1
    assign_clusters(store)
    c = clusters(store)
    assert c["x/1"] == ids["x/1"] and c["reddit/2"] == ids["x/1"]  # the copies keep their cluster
    save(store, Mention("x", "9", STORY, T0 + timedelta(days=30)))
    assign_clusters(store)
    assert clusters(store)["x/9"] != ids["x/1"]  # far outside the window: a story of its own


def test_precision_and_recall_on_the_labelled_set(backend: Backend, shared_dir: Path) -> None:
    store = backend.store
    items = load(shared_dir)
    mentions = [
        Mention(it.network, it.id, it.text, T0 + timedelta(minutes=7 * i)) for i, it in enumerate(items)
    ]
    save(store, *mentions)
    assign_clusters(store)
    by_item = {key.split("/", 1)[1]: cluster for key, cluster in clusters(store).items()}
    precision, recall, found, predicted, actual = pairwise(items, by_item)
    stories = len({it.story for it in items})
    print(f"\nlabelled set: {len(items)} mentions, {stories} stories, {actual} same-story pairs; "
          f"predicted {predicted}, right {found}: precision {precision:.3f}, recall {recall:.3f}")  # fmt: skip
    assert precision >= MIN_PRECISION
    assert recall >= MIN_RECALL


def test_search_collapse_shows_one_row_per_story(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    with Store.open(db) as store:
        save(
            store,
            Mention("x", "1", STORY, T0, author_handle="giornale"),
            Mention("mastodon", "2", STORY + " #richiamo", T0 + timedelta(hours=1)),
            Mention("reddit", "3", STORY + " Che schifo", T0 + timedelta(hours=2)),
            Mention("x", "4", "Un altro lotto? No, solo un caffè con le amiche", T0 + timedelta(hours=3)),
        )
        assign_clusters(store)
        hits = store.clusters.search(None, SearchFilters(network=None), 10)
        assert (hits[0].native_id, hits[0].copies, hits[0].networks) == ("4", 1, "x")
        assert sorted(hits[1].networks.split(",")) == ["mastodon", "reddit", "x"]
        assert (hits[1].native_id, hits[1].copies, hits[1].latest) == ("1", 3, "2024-05-02T10:00:00+00:00")
    result = CliRunner().invoke(cli, ["--db", str(db), "search", "lotto", "--collapse", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["native_id"], r["copies"]) for r in rows] == [("4", 1), ("1", 3)]
    plain = json.loads(CliRunner().invoke(cli, ["--db", str(db), "search", "lotto", "--json"]).output)
    assert len(plain) == 4


def test_alert_examples_show_a_story_once_with_its_spread(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    ms = [
        Mention("x", "1", STORY, T0, like_count=50),
        Mention("mastodon", "2", STORY + " #richiamo", T0, like_count=40),
        Mention("reddit", "3", STORY + " Che schifo", T0, like_count=30),
        Mention("x", "4", "Aurora: il servizio clienti non risponde da giorni", T0, like_count=1),
    ]
    for m in ms:
        store.save_page(Page(m.network, "brand", [m], matches={m.native_id: ["brand"]}))
    assign_clusters(store)
    window = store.window("brand", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    samples = cluster_samples(store, window, [])
    assert [(s["text"][:5], s["copies"], s["spread"]) for s in samples] == [
        (STORY[:5], 2, ["mastodon", "reddit"]), ("Auror", 0, [])]  # fmt: skip
    alert = AlertRow(1, "brand", "", "volume", "warning", "open", "2024-05-02T08:00:00+00:00",
                     "2024-05-02T08:00:00+00:00", None, None, 4.0, 1.0, "brand: 4 mentions",
                     {"samples": samples})  # fmt: skip
    for language, words in (("en", "+2 copies on mastodon, reddit"), ("it", "+2 copie su mastodon, reddit")):
        message = build_message(alert, "opened", language)
        assert words in message.text and words in message.html
        assert message.text.count(STORY[:40]) == 1


def test_forgetting_takes_cluster_rows_and_band_keys_along(backend: Backend) -> None:
    store = backend.store
    ids = save(
        store,
        Mention("x", "1", STORY, T0, author_handle="mario"),
        Mention("reddit", "2", STORY + " Che schifo", T0 + timedelta(hours=1), author_handle="anna"),
    )
    assert assign_clusters(store) == 2
    first = min(ids.values())
    assert store.clusters.members(first) == sorted(ids.values())
    assert store.clusters.of([*ids.values(), 999]) == {i: first for i in ids.values()}
    assert backend.rows("SELECT count(DISTINCT mention_id) FROM cluster_bands") == [(2,)]
    assert store.forget_author("x", "mario") == 1
    assert backend.rows("SELECT count(*) FROM mention_clusters") == [(1,)]
    assert backend.rows("SELECT DISTINCT mention_id FROM cluster_bands") == [(ids["reddit/2"],)]
    assert store.clusters.members(first) == [ids["reddit/2"]]  # the story keeps its name
    assert store.clusters.spread([first])[first].networks == (("reddit", 1),)
    assert store.clusters.prune(utc_iso(T0 + timedelta(days=1))) > 0
    assert store.clusters.prune(utc_iso(T0 + timedelta(days=1))) == 0
    assert backend.rows("SELECT count(*) FROM cluster_bands") == [(0,)]
    assert store.clusters.count_pending() == 0


def test_collapsed_search_by_filters_shows_each_story_by_its_earliest_hit(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    ms = [
        Mention("x", "1", STORY, T0, author_handle="giornale", language="it"),
        Mention("mastodon", "2", STORY + " #richiamo", T0 + timedelta(hours=1), language="it-IT"),
        Mention("reddit", "3", STORY + " Che schifo", T0 + timedelta(hours=2), language="it"),
        Mention("x", "4", "Un altro lotto? No, solo un caffè con le amiche", T0 + timedelta(hours=3)),
    ]
    for m in ms:
        store.save_page(
            Page(m.network, "brand", [m], matches={m.native_id: ["brand"]} if m.native_id != "2" else {})
        )
    assign_clusters(store)
    hits = store.clusters.search(None, SearchFilters(), 10)
    assert [(h.native_id, h.copies, sorted(h.networks.split(",")), h.latest) for h in hits] == [
        ("4", 1, ["x"], "2024-05-02T11:00:00+00:00"),
        ("1", 3, ["mastodon", "reddit", "x"], "2024-05-02T10:00:00+00:00"),
    ]
    assert hits[1].cluster_id == hits[1].id and hits[0].created_at == "2024-05-02T11:00:00+00:00"
    since = store.clusters.search(None, SearchFilters(since=T0 + timedelta(minutes=30), lang="IT"), 10)
    assert [(h.native_id, h.copies) for h in since] == [("2", 2)]  # the story's earliest hit among these
    watched = store.clusters.search(None, SearchFilters(watch="brand", network="x"), 1)
    assert [(h.native_id, h.copies) for h in watched] == [("4", 1)]
    lotto = store.clusters.search(parse("lotto -amiche"), SearchFilters(), 10)
    assert [(h.native_id, h.copies, h.networks.count(",")) for h in lotto] == [("1", 3, 2)]
