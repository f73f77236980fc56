"""Search gives the same hits on both backends: SQLite's FTS5 and PostgreSQL's tsvector (#22).

The property: random texts in every script (those of tests/test_search_tokens.py, plus texts
too long for a tsvector to hold exactly), random handles, languages, URLs and labels, and
random queries built from their words (terms, prefixes, phrases, fields, NOT, AND, OR) return
the same ``Hit`` rows in the same order, with and without a limit, on a SQLite file and on a
PostgreSQL database written the same way. Then the cases a tsvector makes special, on both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.model import Mention, Page
from listener.query import And, Field, Node, Not, Or, Phrase, Term, parse, tokens
from storage import SearchFilters, Store
from storage.pg.search import MAX_LEXEME, MAX_POSITIONS
from storage.pg.store import PgStore
from tests.backends import Backend
from tests.test_search_tokens import texts as any_texts

T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
WORDS = ["rimborso", "caffe", "a", "x", "perché", "東京", "e-mail"]
HANDLES = [None, "@Mario", "mario", "ÉLODIE", "j.doe", "Ωmega", "@", "東京"]
LANGUAGES = [None, "it", "IT", "pt-BR", "en", "İt", ""]
URLS = [None, "", "https://www.aurora.it/a", "https://aurora.it", "https://news.example/x", "https://[::1]/a"]
LABELS = ["NULL", "'negative'", "'neutral'", "'positive'"]


@dataclass
class Both:
    sqlite: Store
    pg: PgStore

    def save(self, page: Page) -> None:
        self.sqlite.save_page(page, now=T0)
        self.pg.save_page(page, now=T0)

    def label(self, mention: Mention, label: str) -> None:
        sql = (
            f"UPDATE mentions SET sentiment_label = {label} "
            f"WHERE network = '{mention.network}' AND native_id = '{mention.native_id}'"
        )  # literals the test chose: the same SQL on both
        self.sqlite.conn.execute(sql)
        self.pg.conn.execute(sql)

    def empty(self) -> None:
        """No mentions, ids from 1 again on both: each example stands alone (and shrinks)."""
        for table in ("mention_watches", "mention_versions", "mentions"):
            self.sqlite.conn.execute(f"DELETE FROM {table}")
        self.pg.conn.execute("TRUNCATE mentions RESTART IDENTITY CASCADE")

    def agree(self, query: Node | None, filters: SearchFilters) -> None:
        for limit in (10**6, 3, 0, -1):
            expected = self.sqlite.search(query, filters, limit)
            assert self.pg.search(query, filters, limit) == expected, (query, filters, limit)


@pytest.fixture
def both(tmp_path: Path, postgres_url: str) -> Iterator[Both]:
    with Store.open(tmp_path / "listener.db") as sqlite, PgStore.open(postgres_url) as pg:
        for store in (sqlite, pg):
            store.sync_watches([("w", "a")], now=T0)
        yield Both(sqlite, pg)


# PostgreSQL's text holds no NUL: what save_page does with one is storage's matter, not search's.
texts = any_texts.map(lambda text: text.replace("\x00", ""))
long_texts = st.one_of(
    texts,
    st.tuples(texts, st.sampled_from(WORDS), texts).map(  # a word more often than a tsvector keeps
        lambda parts: " ".join([parts[0], *[parts[1]] * (MAX_POSITIONS + 1), parts[2]])
    ),
    st.tuples(texts, texts).map(lambda parts: f"{parts[0]} {'x' * (MAX_LEXEME + 1)} {parts[1]}"),
)


def trees(leaf: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.recursive(
        leaf,
        lambda kids: st.one_of(
            kids.map(Not),
            st.lists(kids, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
            st.tuples(kids, kids).map(lambda pair: And((pair[0], Not(pair[1])))),  # a -b
            st.lists(kids, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
        ),
        max_leaves=6,
    )


def queries(pool: list[str], phrases: list[str]) -> st.SearchStrategy[Node]:
    """Text-only trees (one tsquery) and trees of text and fields (SQL around tsqueries)."""
    word = st.sampled_from(pool)
    text = st.one_of(
        st.sampled_from(phrases).map(Phrase),
        st.builds(Term, word),
        st.tuples(word, st.integers(1, 4)).map(lambda w: Term(w[0][: w[1]], prefix=True)),
        st.lists(word, min_size=1, max_size=3).map(lambda ws: Phrase(" ".join(ws))),
    )
    fields = st.one_of(
        st.builds(Field, st.just("lang"), st.sampled_from(["it", "pt", "en", "i̇t"])),
        st.builds(Field, st.just("author"), st.sampled_from(["mario", "MARIO", "élodie", "Élodie", "a\x00"])),
        st.builds(Field, st.just("network"), st.sampled_from(["x", "reddit"])),
        st.builds(Field, st.just("site"), st.sampled_from(["aurora.it", "example", "news.example"])),
        st.builds(Field, st.just("sentiment"), st.sampled_from(["negative", "neutral", "positive"])),
    )
    return st.one_of(trees(text), trees(st.one_of(text, fields)))


filters = st.just(SearchFilters()) | st.builds(  # each filter alone keeps some hits
    SearchFilters,
    since=st.sampled_from([None, None, T0 + timedelta(minutes=2)]),
    until=st.sampled_from([None, None, T0 + timedelta(minutes=4)]),
    network=st.sampled_from([None, None, "x", "reddit"]),
    lang=st.sampled_from([None, None, "IT", "pt"]),
    watch=st.sampled_from([None, None, "w", "nope"]),
)


mentions = st.builds(
    Mention,
    network=st.sampled_from(["x", "reddit"]),
    native_id=st.just("0"),  # numbered by the test
    text=long_texts,
    created_at=st.integers(0, 5).map(lambda minute: T0 + timedelta(minutes=minute)),  # ties: then by id
    author_handle=st.sampled_from(HANDLES),
    language=st.sampled_from(LANGUAGES),
    url=st.sampled_from(URLS),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_texts_and_queries_give_the_same_hits_on_both_backends(
    both: Both, data: st.DataObject
) -> None:
    both.empty()
    drawn = data.draw(st.lists(mentions, min_size=1, max_size=4), "mentions")
    saved = [replace(m, native_id=f"m{i}") for i, m in enumerate(drawn)]
    for m in saved:  # one page each, in order: the same ids on both
        watched = data.draw(st.booleans(), "watched")
        both.save(Page(m.network, "w", [m], matches={m.native_id: ["w"]} if watched else {}))
        both.label(m, data.draw(st.sampled_from(LABELS), "label"))
    if data.draw(st.booleans(), "edit"):  # an edit: its new words are found, the handle stays
        old = saved[data.draw(st.integers(0, len(saved) - 1), "edited")]
        both.save(
            Page(old.network, "w", [replace(old, text=data.draw(texts, "new"), author_handle="renamed")])
        )
    pool = [*WORDS, *(t for m in saved for t in [*tokens(m.text)[:4], *tokens(m.author_handle or "")])]
    # the last word of a text and the first of its handle: a phrase that must not span the two
    phrases = ["rimborso caffe", *(f"{m.text} {m.author_handle}"[-40:] for m in saved if m.author_handle)]
    for _ in range(3):
        both.agree(data.draw(queries(pool, phrases), "query"), data.draw(filters, "filters"))
    both.agree(None, data.draw(filters, "filters"))


# -- what a tsvector makes special, on each backend ---------------------------------


def mention(native_id: str, text: str, **extra: object) -> Mention:
    return Mention("x", native_id, text, T0, **extra)  # type: ignore[arg-type]


def found(backend: Backend, query: str) -> list[str]:
    return [h.native_id for h in backend.store.search(parse(query), SearchFilters(), limit=100)]


def test_a_phrase_is_found_far_into_a_text_a_tsvector_cannot_hold(backend: Backend) -> None:
    filler = "parola " * 20000  # past the 16383 positions and the 256 per lexeme a tsvector keeps
    long_word = "y" * (MAX_LEXEME + 10)
    backend.store.save_page(
        Page(
            "x", "w",
            [
                mention("long", f"{filler} caffè aurora fine", author_handle="Mario"),
                mention("word", f"prima {long_word} dopo"),
                mention("short", "caffè aurora"),
            ],
        )
    )  # fmt: skip
    assert sorted(found(backend, '"caffe aurora"')) == ["long", "short"]
    assert found(backend, '"aurora fine"') == ["long"]
    assert found(backend, '"fine mario"') == []  # a phrase never spans the text and the handle
    assert found(backend, "fine mario") == ["long"]
    assert found(backend, f"{long_word}") == ["word"]
    assert found(backend, f"{long_word[:-1]}*") == ["word"]
    assert found(backend, f'"prima {long_word}"') == ["word"]
    assert found(backend, "-parola -caffe") == ["word"]


def test_an_edit_is_found_by_its_new_words_and_the_old_handle(backend: Backend) -> None:
    backend.store.save_page(Page("x", "w", [mention("1", "prima versione", author_handle="Mario")]))
    backend.store.save_page(Page("x", "w", [mention("1", "seconda versione", author_handle="Luigi")]))
    assert found(backend, '"seconda versione"') == found(backend, "mario") == ["1"]  # the handle stays
    assert found(backend, "prima") == found(backend, "luigi") == found(backend, '"versione mario"') == []


def test_a_value_postgresql_cannot_hold_is_no_match_not_an_error(backend: Backend) -> None:
    backend.store.save_page(Page("x", "w", [mention("1", "aurora", author_handle="mario", language="it")]))
    assert found(backend, "aurora") == ["1"]
    for query in (Field("author", "mario\x00"), Field("network", "\x00"), Field("site", "a\x00.it")):
        assert backend.store.search(query, SearchFilters()) == []
        assert [h.native_id for h in backend.store.search(Not(query), SearchFilters())] == ["1"]
    for filters in (SearchFilters(network="x\x00"), SearchFilters(lang="\x00"), SearchFilters(watch="w\x00")):
        assert backend.store.search(None, filters) == []


def test_mentions_stored_before_the_search_columns_are_indexed_on_open(postgres_url: str) -> None:
    with PgStore.open(postgres_url) as pg:
        pg.save_page(
            Page("x", "w", [mention(str(i), f"caffè {i}", url="https://www.aurora.it") for i in range(3)])
        )
        pg.conn.execute("UPDATE mentions SET search_vector = NULL, search_words = NULL, url_host = NULL")
        assert pg.search(parse("caffe"), SearchFilters()) == []  # what a mention stored before 003 was
    with PgStore.open(postgres_url) as pg:
        assert [h.native_id for h in pg.search(parse("caffe site:aurora.it"), SearchFilters())] == [
            "2",
            "1",
            "0",
        ]
        assert pg.conn.execute("SELECT count(*) FROM mentions WHERE search_vector IS NULL").fetchone() == (0,)
