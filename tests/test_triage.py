"""Triage state (#21): set, reopen, the log of every action, and both gone when the mention is forgotten."""

from __future__ import annotations

import inspect
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest

from listener.model import Mention, Page
from storage import Store
from storage.interfaces import StoryReads, TriageStore
from storage.pg.store import PgStore
from storage.pg.stories import PgStories
from storage.pg.triage import PgTriage
from storage.search import register_functions
from storage.stories import StoryQueries
from storage.triage import TriageTable
from tests.backends import Backend
from tests.test_storage_interfaces import members, public_methods

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def saved(backend: Backend) -> list[int]:
    backend.store.save_page(Page("x", "brand", [
        Mention("x", "1", "charged twice", T0, author_id="92", author_handle="fede_92"),
        Mention("x", "2", "charged twice!", T0, author_id="92", author_handle="fede_92"),
        Mention("x", "3", "lovely coffee", T0, author_id="55", author_handle="lucia"),
    ]))  # fmt: skip
    return [int(str(row[0])) for row in backend.rows("SELECT id FROM mentions ORDER BY native_id")]


def test_set_states_and_notes(backend: Backend) -> None:
    store = backend.store
    a, b, c = saved(backend)
    assert store.triage.set([a, b], "handled", "refunded by the bank", now=T0) == 2
    assert store.triage.set([c], "escalated", now=T0 + timedelta(minutes=1)) == 1
    states = store.triage.states([a, b, c, 999])
    assert {i: (s.state, s.note, s.updated_at) for i, s in states.items()} == {
        a: ("handled", "refunded by the bank", "2026-12-04T09:00:00+00:00"),
        b: ("handled", "refunded by the bank", "2026-12-04T09:00:00+00:00"),
        c: ("escalated", None, "2026-12-04T09:01:00+00:00"),
    }
    store.triage.set([a], "ignored", "troll", now=T0 + timedelta(minutes=2))  # a new state replaces the old
    assert (store.triage.states([a])[a].state, store.triage.states([a])[a].note) == ("ignored", "troll")


def test_reopen_keeps_the_history(backend: Backend) -> None:
    store = backend.store
    a, b, _ = saved(backend)
    store.triage.set([a, b], "escalated", "ask IT", now=T0)
    store.triage.set([a], None, now=T0 + timedelta(hours=1))
    assert set(store.triage.states([a, b])) == {b}
    assert store.triage.log([a, b]) == [
        (a, "escalated", "ask IT", "2026-12-04T09:00:00+00:00"),
        (b, "escalated", "ask IT", "2026-12-04T09:00:00+00:00"),
        (a, "open", None, "2026-12-04T10:00:00+00:00"),
    ]


def test_unknown_states_and_missing_mentions(backend: Backend) -> None:
    store = backend.store
    a, _, _ = saved(backend)
    with pytest.raises(
        ValueError, match="unknown triage state 'done'; use one of handled, ignored, escalated"
    ):
        store.triage.set([a], "done")
    assert store.triage.set([a, 12345], "handled", now=T0) == 1  # a mention not kept is skipped
    assert store.triage.log([12345]) == []
    refused = {"sqlite": sqlite3.IntegrityError, "postgresql": psycopg.IntegrityError}[backend.name]
    with pytest.raises(refused):  # the table refuses what the method would never write
        store.conn.execute(
            f"INSERT INTO triage (mention_id, state, updated_at) VALUES ({a}, 'done', '2026-12-04T09:00:00+00:00')"
        )


def test_forget_takes_the_notes_with_the_mentions(backend: Backend) -> None:
    store = backend.store
    a, b, c = saved(backend)
    store.triage.set([a, b, c], "handled", "called her back", now=T0)
    store.triage.set([a], None, now=T0)
    assert store.forget_author("x", "fede_92") == 2
    assert set(store.triage.states([a, b, c])) == {c}
    assert [entry[0] for entry in store.triage.log([a, b, c])] == [c]
    assert backend.rows("SELECT count(*) FROM triage_log") == [(1,)]


def test_forget_from_a_connection_without_foreign_keys(store: Store, db_path: Path) -> None:
    """A shell or another tool deletes a mention without foreign keys on: the trigger still cleans up (SQLite)."""
    store.save_page(Page("x", "brand", [Mention("x", "1", "charged twice", T0, author_handle="fede_92")]))
    ((a,),) = store.conn.execute("SELECT id FROM mentions").fetchall()
    store.triage.set([a], "escalated", "lawyer", now=T0)
    other = sqlite3.connect(db_path)
    register_functions(other)  # the search index's triggers call them
    other.execute("PRAGMA foreign_keys = OFF")
    other.execute("DELETE FROM mentions WHERE id = ?", (a,))
    other.commit()
    other.close()
    assert store.triage.states([a]) == {} and store.triage.log([a]) == []


def same_shape(protocol: type[Any], cls: type[Any]) -> None:
    """What a backend must offer is exactly what the protocol says, with the same parameters."""
    assert public_methods(cls) == members(protocol)
    for name in members(protocol):
        shape = [
            (p.name, p.kind, p.default)
            for p in inspect.signature(getattr(protocol, name)).parameters.values()
        ]
        actual = inspect.signature(getattr(cls, name)).parameters.values()
        assert [(p.name, p.kind, p.default) for p in actual] == shape, name


@pytest.mark.parametrize(("protocol", "cls"), [(TriageStore, TriageTable), (StoryReads, StoryQueries)])
def test_the_protocols_match_the_tables(protocol: type[Any], cls: type[Any]) -> None:
    same_shape(protocol, cls)
    for name in members(protocol):
        assert hasattr(vars(cls)[name], "__wrapped__"), f"{name} is not guarded"


@pytest.mark.parametrize(("protocol", "cls"), [(TriageStore, PgTriage), (StoryReads, PgStories)])
def test_the_postgresql_twins_match_the_protocols(protocol: type[Any], cls: type[Any]) -> None:
    same_shape(protocol, cls)


def test_the_store_offers_them(backend: Backend) -> None:
    store = backend.store
    triage: TriageStore = store.triage
    stories: StoryReads = store.stories
    assert triage is store.triage and stories is store.stories
    assert type(triage).__name__ == {"sqlite": "TriageTable", "postgresql": "PgTriage"}[backend.name]


def test_two_people_marking_and_a_forget_at_once_on_postgresql(postgres_url: str) -> None:
    """Two inbox users mark the same mentions in opposite orders while a third forgets one author:
    no deadlock, no failure, one state per mention kept, every action logged, the forgotten
    author's notes gone."""
    stores = [PgStore.open(postgres_url) for _ in range(3)]
    errors: list[BaseException] = []
    try:
        for round_ in range(4):
            page = [
                Mention("x", f"{round_}-{i}", f"charged twice {i}", T0, author_handle=f"a{i % 3}")
                for i in range(30)
            ]
            stores[0].save_page(Page("x", "brand", page))
            ids = [int(row[0]) for row in stores[0].conn.execute(
                "SELECT id FROM mentions WHERE native_id LIKE %s ORDER BY id", (f"{round_}-%",)
            )]  # fmt: skip
            barrier = threading.Barrier(3)
            jobs = [
                partial(stores[0].triage.set, ids, "handled", "refund", now=T0),
                partial(stores[1].triage.set, ids[::-1], "escalated", now=T0 + timedelta(seconds=1)),
                partial(stores[2].forget_author, "x", "a0"),
            ]

            def run(job: Any, barrier: threading.Barrier) -> None:
                try:
                    barrier.wait(timeout=10)
                    job()
                except BaseException as exc:  # surfaced below, in the test's thread
                    errors.append(exc)

            threads = [threading.Thread(target=run, args=(job, barrier)) for job in jobs]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
            kept = [
                int(row[0])
                for row in stores[0].conn.execute("SELECT id FROM mentions WHERE id = ANY(%s)", (ids,))
            ]
            assert len(kept) == 20 and set(stores[0].triage.states(ids)) == set(kept)
            assert sorted(m for m, *_ in stores[0].triage.log(ids)) == sorted(kept * 2)
    finally:
        for store in stores:
            store.close()
