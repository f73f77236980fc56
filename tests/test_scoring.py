"""Sentiment after ingest: scored in batches after storing, re-scored after a model change.

The cases that go through the store only run on both backends (``backend``, tests/backends.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from listener.cli import cli
from listener.errors import ListenerError
from listener.model import Mention, Page
from listener.records import use_clock
from listener.scoring import backlog_line, rescore, score_in_child, score_new
from listener.sentiment.backends import load_backend
from storage import Store
from tests.backends import Backend

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TEXTS = {
    "1": ("Il caffè di Aurora è buonissimo, grazie!", "it"),
    "2": ("Servizio pessimo, ordine mai arrivato. Vergogna.", None),
    "3": ("The new Aurora app is terrible, refund please", None),
    "4": ("", None),
}


def store_page(store: Any) -> None:
    mentions = [Mention("x", nid, text, T0, language=lang) for nid, (text, lang) in TEXTS.items()]
    store.save_page(Page("x", "brand", mentions), now=T0)


def labels(store: Any) -> dict[str, tuple[str | None, str | None, str | None]]:
    rows = store.conn.execute("SELECT native_id, sentiment_label, language, sentiment_model FROM mentions")
    return {nid: (label, lang, model) for nid, label, lang, model in rows.fetchall()}


def test_storing_never_scores_and_scoring_fills_label_language_and_version(backend: Backend) -> None:
    store = backend.store
    store_page(store)
    assert store.scoring_backlog() == (4, T0)
    assert {v[0] for v in labels(store).values()} == {None}  # unscored, not neutral
    model = load_backend("default")
    assert score_new(store, model, batch=2) == 4
    assert store.scoring_backlog() == (0, None) and store.unscored() == []
    got = labels(store)
    assert got["1"] == ("positive", "it", model.version)
    assert got["2"][0] == "negative" and got["2"][1] == "it"  # detected where the network gave none
    assert got["3"][:2] == ("negative", "en")
    assert got["4"][0] == "neutral"
    assert score_new(store, model) == 0


def test_rescore_after_a_model_change_touches_only_other_versions(backend: Backend) -> None:
    store = backend.store
    store_page(store)
    vader = load_backend("vader")
    score_new(store, vader)
    default = load_backend("default")
    assert (
        store.count_scored_by_other(default.version) == 4 and store.count_scored_by_other(vader.version) == 0
    )
    ids = [i for i, _, _ in store.scored_by_other(default.version)]
    assert len(ids) == 4 and ids == sorted(ids) and store.unscored() == []
    assert [i for i, _, _ in store.scored_by_other(default.version, after_id=ids[1], limit=1)] == [ids[2]]
    progress: list[int] = []
    assert rescore(store, default, batch=3, progress=progress.append) == 4
    assert progress == [3, 1]
    assert {v[2] for v in labels(store).values()} == {default.version}
    assert store.count_scored_by_other(default.version) == 0
    assert rescore(store, default) == 0


def test_scoring_in_a_child_process(store: Store, db_path: Path) -> None:
    """On SQLite only: the child is given a database file (``--db``)."""
    store_page(store)
    assert score_in_child(db_path) == 4
    assert None not in {v[0] for v in labels(store).values()}


def test_a_failing_child_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ListenerError) as caught:
        score_in_child(tmp_path / "missing.db")
    assert str(caught.value).startswith("sentiment scoring failed: ")
    assert "\n" not in str(caught.value)


def test_listener_rescore_command(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    with Store.open(db) as store:
        store_page(store)
    result = CliRunner().invoke(cli, ["--db", str(db), "rescore"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Rescored 4 mentions with listener-sentiment")


def test_a_stop_request_ends_the_child_at_once(store: Store, db_path: Path) -> None:
    store_page(store)
    assert score_in_child(db_path, should_stop=lambda: True) == 0
    assert {v[0] for v in labels(store).values()} == {None}  # nothing half-written: scored next time


def test_status_shows_the_scoring_backlog(tmp_path: Path) -> None:
    db = tmp_path / "listener.db"
    try:
        use_clock(lambda: T0)
        with Store.open(db) as store:
            store_page(store)
        use_clock(lambda: T0 + timedelta(minutes=40))
        waiting = CliRunner().invoke(cli, ["--db", str(db), "status"])
        with Store.open(db) as store:
            score_new(store, load_backend("vader"))
        scored = CliRunner().invoke(cli, ["--db", str(db), "status"])
    finally:
        use_clock(None)
    assert waiting.exit_code == 0, waiting.output
    assert "Sentiment: 4 mentions wait for scoring, the oldest collected 40 min ago. " in waiting.stderr
    assert "Negative-sentiment alerts wait for them" in waiting.stderr
    assert "Sentiment: every mention is scored." in scored.stderr


def test_a_small_fresh_backlog_is_not_a_warning() -> None:
    line = backlog_line(12, T0, T0 + timedelta(minutes=3))
    assert line == "Sentiment: 12 mentions wait for scoring, the oldest collected 3 min ago."
    assert "alerts wait" in backlog_line(600, T0, T0 + timedelta(minutes=3))
