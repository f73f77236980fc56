"""The watch buckets' change feed and an alert's window, on both backends (tests/backends.py).

``bucket_changes`` is what the daemon's kept series poll (listener/alerts/memory.py): every
change of a watch's buckets must show there, from the earliest bucket it touched: new matches,
late mentions, sentiment arriving or changing, an edit, an erasure. A re-collection that
changes nothing is no change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from listener.model import Mention, Page
from listener.records import utc_iso
from storage.pg.store import PgStore
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
AT = int(T0.timestamp())


def mention(native_id: str, minutes: int = 0, **extra: object) -> Mention:
    return Mention("x", native_id, f"aurora {native_id}", T0 + timedelta(minutes=minutes), **extra)  # type: ignore[arg-type]


def test_every_kind_of_change_is_reported_from_its_earliest_bucket(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora"), ("complaints", "rimborso")])
    first = store.bucket_changes(0)
    assert (first.latest, first.complete, first.since) == (0, True, {})

    def since(after: int) -> tuple[int, dict[str, int]]:
        found = store.bucket_changes(after)
        assert found.complete and found.latest >= after
        return found.latest, found.since

    page = [mention("1", 10, author_handle="mario"), mention("2", 30), mention("3", -20)]
    store.save_page(Page("x", "brand", page, matches={"1": ["brand"], "2": ["brand", "complaints"]}))
    latest, found = since(0)
    assert found == {"brand": AT + 600, "complaints": AT + 1800}
    store.save_page(Page("x", "brand", page, matches={"1": ["brand"], "2": ["brand", "complaints"]}))
    assert since(latest) == (latest, {})  # a re-collection changes nothing

    store.save_page(Page("x", "brand", [page[2]], matches={"3": ["complaints"]}))  # a late match
    latest, found = since(latest)
    assert found == {"complaints": AT - 1200}

    ids = {text.split()[1]: i for i, text, _ in store.unscored()}
    store.set_sentiment([(ids["2"], "negative", 0.9, "m", None)])
    latest, found = since(latest)
    assert found == {"brand": AT + 1800, "complaints": AT + 1800}
    store.set_sentiment([(ids["2"], "positive", 0.9, "m", None)])  # no count moves: still a change
    latest, found = since(latest)
    assert found == {"brand": AT + 1800, "complaints": AT + 1800}

    store.save_page(Page("x", "brand", [replace(page[1], text="aurora rimborso")]))  # an edit
    latest, found = since(latest)
    assert found == {"brand": AT + 1800, "complaints": AT + 1800}

    assert store.forget_author("x", "mario") == 1
    latest, found = since(latest)
    assert found == {"brand": AT + 600}
    assert store.bucket_counts("brand", T0 - timedelta(hours=1), T0 + timedelta(hours=1), 300) == [
        (AT + 1800, 1, 0, 0)
    ]


def test_changes_read_elsewhere_or_dropped_make_the_feed_incomplete(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    for n in range(3):
        store.save_page(Page("x", "brand", [mention(str(n), 5 * n)], matches={str(n): ["brand"]}))
    every = store.bucket_changes(0)
    assert every.complete and every.latest >= 3 and every.since == {"brand": AT}
    store.forget_bucket_changes(every.latest - 1)  # another reader took all but the last
    assert not store.bucket_changes(0).complete
    rest = store.bucket_changes(every.latest - 1)
    assert rest.complete and rest.since == {"brand": AT + 600}
    store.forget_bucket_changes(every.latest)
    assert store.bucket_changes(every.latest) == replace(rest, since={})
    assert store.bucket_changes(every.latest).latest == every.latest  # the numbers go on from there


def test_a_window_is_a_watchs_mentions_of_the_range_newest_first(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora"), ("complaints", "rimborso")])
    xs = [mention(str(n), 10 * n, like_count=n, reply_count=1) for n in range(6)]
    store.save_page(Page("x", "brand", xs, matches={m.native_id: ["brand"] for m in xs[1:]}))
    other = Mention("reddit", "r1", "aurora", T0 + timedelta(minutes=25), author_handle="jane")
    store.save_page(Page("reddit", "brand", [other], matches={"r1": ["brand"]}))
    window = store.window("brand", T0 + timedelta(minutes=10), T0 + timedelta(minutes=50))
    assert [(w.network, w.text, w.engagement, w.created_at) for w in window] == [
        ("x", "aurora 4", 5, utc_iso(T0 + timedelta(minutes=40))),
        ("x", "aurora 3", 4, utc_iso(T0 + timedelta(minutes=30))),
        ("reddit", "aurora", 0, utc_iso(T0 + timedelta(minutes=25))),
        ("x", "aurora 2", 3, utc_iso(T0 + timedelta(minutes=20))),
        ("x", "aurora 1", 2, utc_iso(T0 + timedelta(minutes=10))),
    ]
    assert [w.text for w in store.window("brand", T0, T0 + timedelta(hours=1), network="reddit")] == [
        "aurora"
    ]
    assert [w.text for w in store.window("brand", T0, T0 + timedelta(hours=1), limit=2)] == [
        "aurora 5",
        "aurora 4",
    ]
    assert store.window("complaints", T0, T0 + timedelta(hours=1)) == store.window("nope", T0, T0) == []
    assert {w.id for w in window} == {
        int(i)
        for (i,) in backend.rows("SELECT id FROM mentions WHERE native_id IN ('1', '2', '3', '4', 'r1')")  # type: ignore[call-overload]
    }


def test_a_mention_moved_in_time_or_to_another_author_moves_its_counts_on_postgresql(
    postgres_url: str,
) -> None:
    """Nothing in listener moves a mention (SQLite's watch buckets would not follow); PostgreSQL's
    triggers handle an update of time or author as a removal and an addition all the same."""
    with PgStore.open(postgres_url) as store:
        store.sync_watches([("brand", "aurora")])
        ms = [
            mention("1", 0, author_handle="mario", author_name="Mario"),
            mention("2", 0, author_handle="jane"),
        ]
        store.save_page(Page("x", "brand", ms, matches={"1": ["brand"], "2": ["brand"]}))
        seen = store.bucket_changes(0).latest
        store.conn.execute(
            "UPDATE mentions SET created_at = created_at + interval '1 hour', author_handle = 'jane', "
            "sentiment_label = 'negative' WHERE native_id = '1'"
        )
        assert store.bucket_changes(seen).since == {"brand": AT}
        assert store.bucket_counts("brand", T0, T0 + timedelta(hours=2), 300) == [
            (AT, 1, 0, 1),
            (AT + 3600, 1, 1, 0),
        ]
        assert store.mention_times("x", "brand") == [T0 + timedelta(hours=1), T0]
        assert [
            (a.author_key, a.mentions, a.negative, a.first_seen, a.last_seen) for a in store.authors.all()
        ] == [("jane", 2, 1, utc_iso(T0), utc_iso(T0 + timedelta(hours=1)))]
