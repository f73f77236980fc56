"""The storage contract, run against both backends: SQLite's ``Store`` and PostgreSQL's ``PgStore`` (#22).

The cases of tests/test_storage.py for the methods the PostgreSQL backend has so far
(``save_page``, ``count_mentions``, ``versions``, ``forget_author``, with ``get_cursor``,
``mark_deleted`` and ``sync_watches`` to set up and observe them). What the interface does not
show is read with the same SQL on both, values normalised (times as ``utc_iso``, JSON as text).
The PostgreSQL cases run on the tests' own server (tests/postgres.py): skipped with the reason
where PostgreSQL is not installed, failed under CI.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from listener.errors import StorageError
from listener.model import Mention, Page, Reject
from listener.records import utc_iso
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def mention(native_id: str, text: str = "Caffè Aurora è ottimo", **extra: object) -> Mention:
    return Mention(network="x", native_id=native_id, text=text, created_at=T0, **extra)  # type: ignore[arg-type]


def test_the_same_page_twice_stores_each_mention_once(backend: Backend) -> None:
    page = Page("x", "brand", [mention("1"), mention("2"), mention("2")], cursor="2")
    first = backend.store.save_page(page)
    second = backend.store.save_page(page)
    assert (first.new, first.duplicates) == (2, 1)
    assert (second.new, second.duplicates) == (0, 3)
    assert backend.rows("SELECT native_id FROM mentions ORDER BY native_id") == [("1",), ("2",)]
    assert backend.store.count_mentions() == 2


def test_an_edit_keeps_every_earlier_text(backend: Backend) -> None:
    backend.store.save_page(Page("x", "brand", [mention("1", "prima versione")]), now=T0)
    backend.store.save_page(
        Page("x", "brand", [mention("1", "seconda versione")]), now=T0 + timedelta(hours=1)
    )
    result = backend.store.save_page(
        Page("x", "brand", [mention("1", "terza versione")]), now=T0 + timedelta(hours=2)
    )
    assert (result.new, result.edited, result.duplicates) == (0, 1, 0)
    assert backend.store.versions("x", "1") == ["prima versione", "seconda versione", "terza versione"]
    assert backend.store.versions("x", "404") == []
    assert backend.rows("SELECT seen_from, replaced_at FROM mention_versions ORDER BY id") == [
        (utc_iso(T0), utc_iso(T0 + timedelta(hours=1))),
        (utc_iso(T0 + timedelta(hours=1)), utc_iso(T0 + timedelta(hours=2))),
    ]
    assert backend.store.count_mentions() == 1


def test_refreshed_engagement_is_kept_without_a_new_row(backend: Backend) -> None:
    backend.store.save_page(Page("x", "brand", [mention("1", like_count=1, reply_count=3)]))
    backend.store.save_page(Page("x", "brand", [mention("1", like_count=40)]))
    assert backend.rows("SELECT like_count, reply_count FROM mentions") == [(40, 3)]
    assert backend.rows("SELECT count(*) FROM mention_versions") == [(0,)]


def test_a_failure_mid_page_changes_neither_mentions_nor_cursor(backend: Backend) -> None:
    backend.store.save_page(Page("x", "brand", [mention("1")], cursor="1"))
    unstorable = mention("3", raw={"payload": float("nan")})  # NaN is not valid JSON: refused
    page = Page("x", "brand", [mention("2"), unstorable, mention("4")], cursor="4")
    with pytest.raises(backend.failure):
        backend.store.save_page(page)
    assert backend.store.get_cursor("x", "brand") == "1"
    assert backend.rows("SELECT native_id FROM mentions") == [("1",)]
    assert backend.store.count_mentions() == 1


def test_cursor_advances_with_its_page_and_is_per_network_and_watch(backend: Backend) -> None:
    backend.store.save_page(Page("x", "brand", [mention("1")], cursor="c1"))
    backend.store.save_page(Page("x", "complaints", [], cursor="k9"))
    assert backend.store.get_cursor("x", "brand") == "c1"
    assert backend.store.get_cursor("x", "complaints") == "k9"
    assert backend.store.get_cursor("reddit", "brand") is None
    backend.store.save_page(Page("x", "brand", [], cursor=None))
    assert backend.store.get_cursor("x", "brand") == "c1"


def test_rejects_keep_the_raw_payload_and_page_mates_are_stored(backend: Backend) -> None:
    bad = {"id": "9", "text": None}
    result = backend.store.save_page(
        Page("x", "brand", [mention("1")], rejects=[Reject("x", "text is missing", bad, "9")])
    )
    assert (result.new, result.rejected) == (1, 1)
    assert backend.rows("SELECT native_id, reason, raw FROM rejects") == [
        ("9", "text is missing", '{"id":"9","text":null}')
    ]


def test_watch_matches_are_linked_once(backend: Backend) -> None:
    backend.store.sync_watches([("brand", "aurora"), ("complaints", "rimborso")])
    page = Page(
        "x", "brand", [mention("1"), mention("2")], matches={"1": ["brand", "complaints"], "2": ["brand"]}
    )
    backend.store.save_page(page, now=T0)
    backend.store.save_page(page, now=T0)
    assert backend.rows(
        "SELECT w.name, count(*) FROM mention_watches mw JOIN watches w ON w.id = mw.watch_id "
        "GROUP BY w.name ORDER BY w.name"
    ) == [("brand", 2), ("complaints", 1)]


def test_a_match_to_an_unknown_watch_is_refused_whole(backend: Backend) -> None:
    with pytest.raises(StorageError, match="unknown watch 'nope'"):
        backend.store.save_page(Page("x", "brand", [mention("1")], cursor="1", matches={"1": ["nope"]}))
    assert backend.store.get_cursor("x", "brand") is None
    assert backend.store.count_mentions() == 0


def test_deleted_upstream_is_marked_never_removed(backend: Backend) -> None:
    backend.store.save_page(Page("x", "brand", [mention("1"), mention("2"), mention("3")]))
    assert backend.store.mark_deleted("x", ["2", "404"], now=T0) == 1
    assert backend.store.mark_deleted("x", ["2"], now=T0 + timedelta(days=1)) == 0
    backend.store.save_page(Page("x", "brand", deleted=["3"]), now=T0 + timedelta(days=2))
    assert backend.rows("SELECT native_id, deleted_at FROM mentions ORDER BY native_id") == [
        ("1", None),
        ("2", "2026-11-20T09:30:00+00:00"),
        ("3", "2026-11-22T09:30:00+00:00"),
    ]
    assert backend.store.count_mentions() == 3


def test_forget_author_by_handle_at_sign_any_case_and_script_or_by_id(backend: Backend) -> None:
    handles = {"1": "@Mario", "2": "mario", "3": "MARIO", "4": "mariobros", "5": "ÉLODIE", "6": "@élodie"}
    others = [mention(i, author_handle=h) for i, h in handles.items()]
    others += [mention("7"), mention("8", author_id="42", author_handle="Someone")]
    elsewhere = Mention(network="y", native_id="1", text="ciao", created_at=T0, author_handle="@Mario")
    backend.store.save_page(Page("x", "brand", others))
    backend.store.save_page(Page("y", "brand", [elsewhere]))

    def left(network: str = "x") -> list[object]:
        return [
            r[0]
            for r in backend.rows(f"SELECT native_id FROM mentions WHERE network = '{network}' ORDER BY 1")
        ]

    assert backend.store.forget_author("x", " Mario ") == 3  # @Mario, mario, MARIO
    assert left() == ["4", "5", "6", "7", "8"] and left("y") == ["1"]
    assert backend.store.forget_author("x", "@Élodie") == 2
    assert backend.store.forget_author("x", "@") == backend.store.forget_author("x", "") == 0
    assert left() == ["4", "7", "8"]
    assert backend.store.forget_author("x", "42") == 1  # an author id, as the network gives it
    assert left() == ["4", "7"]


def test_forgetting_takes_versions_and_watch_links_along(backend: Backend) -> None:
    backend.store.sync_watches([("brand", "aurora")])
    first = mention("1", author_handle="mario")
    backend.store.save_page(Page("x", "brand", [first], matches={"1": ["brand"]}))
    backend.store.save_page(Page("x", "brand", [replace(first, text="edited aurora")]))
    assert backend.store.forget_author("x", "mario") == 1
    assert backend.store.versions("x", "1") == []
    assert backend.rows("SELECT count(*) FROM mention_versions") == [(0,)]
    assert backend.rows("SELECT count(*) FROM mention_watches") == [(0,)]


def test_the_mention_count_is_kept_exact_through_edits_and_erasure(backend: Backend) -> None:
    backend.store.sync_watches([("brand", "aurora")])
    mentions = [mention(str(i), author_handle=f"a{i % 2}") for i in range(7)]
    backend.store.save_page(Page("x", "brand", mentions))
    backend.store.save_page(Page("x", "brand", [replace(mentions[0], text="edited aurora")]))
    assert backend.store.count_mentions() == 7
    backend.store.forget_author("x", "a0")
    assert backend.store.count_mentions() == backend.rows("SELECT count(*) FROM mentions")[0][0] == 3


def test_a_pages_new_mentions_are_numbered_in_the_order_the_network_gave_them(backend: Backend) -> None:
    """Ids break ties of time in every id-ordered read (newest first, oldest unscored first)."""
    store = backend.store
    store.save_page(Page("x", "brand", [mention("20"), mention("3")]))
    store.save_page(
        Page("x", "brand", [mention("b"), mention("3"), mention("a"), mention("10"), mention("b")])
    )
    rows = backend.rows("SELECT native_id FROM mentions ORDER BY id")
    assert [r[0] for r in rows] == ["20", "3", "b", "a", "10"]
