"""``sentiment:`` in the query language: searched on the stored label, refused in a watch.

A watch matches mentions when they are collected, before they are scored, so a
watch using ``sentiment:`` would keep nothing: the config refuses it in one line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from listener.cli import cli
from listener.config import parse_config
from listener.errors import ConfigError, QueryError
from listener.model import Mention, Page
from listener.query import Field, Not, Query, parse, render
from storage import SearchFilters, Store
from tests.backends import Backend

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
LABELS = {"1": "negative", "2": "neutral", "3": "positive", "4": None}


def test_parse_and_render() -> None:
    assert parse("sentiment:negative") == Field("sentiment", "negative")
    assert parse("sentiment:Positive") == Field("sentiment", "positive")
    assert parse("-sentiment:positive") == Not(Field("sentiment", "positive"))
    assert render(parse("aurora -sentiment:positive")) == "aurora -sentiment:positive"


@pytest.mark.parametrize(
    ("source", "column"), [("sentiment:bad", 1), ("aurora sentiment:angry", 8), ("sentiment:", 1)]
)
def test_another_value_is_a_syntax_error_naming_its_column(source: str, column: int) -> None:
    with pytest.raises(QueryError) as error:
        parse(source)
    assert error.value.column == column
    assert "sentiment:" in str(error.value) and "negative" in str(error.value)


def scored(store: Any) -> Any:
    """Four mentions, three of them scored (``LABELS``), in ``store`` of either backend."""
    mentions = [Mention("x", nid, f"aurora {nid}", T0 + timedelta(minutes=int(nid))) for nid in LABELS]
    store.save_page(Page("x", "w", mentions))
    ids = dict(store.conn.execute("SELECT native_id, id FROM mentions"))
    store.set_sentiment([(ids[n], label, 0.9, "test", None) for n, label in LABELS.items() if label])
    return store


@pytest.fixture
def store(backend: Backend) -> Any:
    return scored(backend.store)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sentiment:negative", {"1"}),
        ("aurora sentiment:positive", {"3"}),
        ("-sentiment:positive", {"1", "2", "4"}),  # not yet scored is "not positive" too
        ("sentiment:negative OR sentiment:neutral", {"1", "2"}),
        ("sentiment:neutral -aurora", set()),
    ],
)
def test_search_and_the_local_matcher_agree(store: Any, query: str, expected: set[str]) -> None:
    for limit in (50, 1000):  # the newest-first walk and the plain query
        hits = store.search(parse(query), SearchFilters(), limit=limit)
        assert {h.native_id for h in hits} == expected, (query, limit)
    every = store.search(None, SearchFilters(), limit=1000)
    assert {h.native_id for h in every if Query.parse(query).matches(h)} == expected


def test_listener_search_filters_on_sentiment(tmp_path: Path) -> None:
    scored(Store.open(tmp_path / "listener.db")).close()
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "listener.db"), "search", "aurora sentiment:negative", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [(h["native_id"], h["sentiment_label"]) for h in json.loads(result.stdout)] == [("1", "negative")]


@pytest.mark.parametrize(
    "query", ["aurora sentiment:negative", "aurora -sentiment:positive", "(a OR sentiment:neutral)"]
)
def test_a_watch_cannot_use_sentiment(tmp_path: Path, query: str) -> None:
    text = f"[[watches]]\nname = \"brand\"\nquery = '{query}'\n"
    with pytest.raises(ConfigError) as error:
        parse_config(text, tmp_path / "listener.toml")
    assert str(error.value).startswith(
        f"{tmp_path / 'listener.toml'}: watches[0].query: sentiment: cannot select"
    )
    assert "listener search" in str(error.value)
