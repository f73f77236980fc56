"""Search and the watch matcher tokenize alike: what a watch matched, ``listener search`` finds.

Issue #18: unicode61 split emoji, voiced kana, Korean, Hebrew, Arabic and Telugu
marks and zalgo text differently from ``listener.query.tokens``. The index now
stores the matcher's own tokens (migration 11); these tests hold the two sides
to agreeing on any text, through a real Store on a real SQLite file.
"""

from __future__ import annotations

import itertools
import sqlite3
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.cli import cli
from listener.errors import QueryError
from listener.model import Mention, Page
from listener.query import MAX_DEPTH, Not, Query, Term, parse, tokens, words
from storage import SearchFilters, Store
from storage.migrations import MIGRATIONS, migrate

T0 = datetime(2026, 11, 20, tzinfo=UTC)
_ids = itertools.count()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """One database for every example: each adds its own mention and looks only for that one."""
    with Store.open(tmp_path_factory.mktemp("tokens") / "listener.db") as store:
        yield store


def add(store: Store, text: str, **extra: object) -> Mention:
    mention = Mention("x", f"m{next(_ids)}", text, T0, **extra)  # type: ignore[arg-type]
    store.save_page(Page("x", "w", [mention]))
    return mention


def found(store: Store, query: Query, mention: Mention) -> bool:
    """Whether ``listener search`` (both the plain and the --collapse path) returns ``mention``."""
    hits = {h.native_id for h in store.search(query.root, SearchFilters(), limit=10**6)}
    stories = {h.native_id for h in store.clusters.search(query.root, SearchFilters(), 10**6)}
    assert (mention.native_id in hits) == (mention.native_id in stories), str(query)
    return mention.native_id in hits


def agree(store: Store, query: Query, mention: Mention) -> bool:
    matched = query.matches(mention)
    assert found(store, query, mention) is matched, f"{query} on {mention.text!r}: watch says {matched}"
    return matched


# -- any text, any word of it ----------------------------------------------------

# Hypothesis' own text() covers all of Unicode; these pieces make the hard cases common.
HARD = [
    "🤬", "😀", "👍🏽", "👨\u200d👩\u200d👧", "❤\ufe0f", "#", "@", "_", "-", "'", ".", "\u200b", "\u00a0",
    "й", "ё", "И\u0306", "e\u0301", "é", "ß", "İ", "ﬁ", "K",  # Cyrillic, Latin, NFC vs NFD
    "が", "か\u3099", "は\u309a", "ゞ", "ー", "東京", "漢字",  # kana, voiced both ways, CJK
    "한국어", unicodedata.normalize("NFD", "한국어"), "\u1100", "\u1161",  # Hangul, jamo
    "שָׁלוֹם", "עולם", "مَرْحَبًا", "بكم", "\u200f", "\u200e", "\u0640",  # Hebrew, Arabic, RTL marks, tatweel
    "తెలుగు", "హిందీ", "हिन्दी", "क्ष", "ৌ", "ไทย", "ภาษา",  # abugidas, Thai
    "a\u0489", "o\u20dd", "\u0336", "\u0338", "\u0315\u031b\u0340", "Z̸̧̛a̵͈l̴g̷o",  # zalgo, enclosing marks
    "²", "٣", "Ⅻ", "①",  # digits of other kinds
]  # fmt: skip
piece = st.one_of(
    st.sampled_from(HARD), st.text(min_size=1, max_size=4), st.sampled_from(["rimborso", "caffè"])
)
texts = st.lists(piece, max_size=8).flatmap(
    lambda pieces: st.lists(
        st.sampled_from(["", " ", "  ", "\n"]), min_size=len(pieces), max_size=len(pieces)
    ).map(lambda gaps: "".join(p + g for p, g in zip(pieces, gaps, strict=True)))
)


def parsed(source: str) -> Query | None:
    try:
        return Query.parse(source)
    except QueryError:
        return None  # only punctuation, a field name, a keyword: not a word to search


def queries_for(text: str, other: str) -> Iterator[Query]:
    """Words of ``text`` (its tokens, their prefixes, its raw chunks) and of another text."""
    for token in tokens(text)[:4]:
        yield Query(Term(token))
        yield Query(Term(token[: max(1, len(token) // 2)], prefix=True))
    for chunk in text.split()[:3] + other.split()[:2]:
        if (query := parsed(chunk)) is not None:
            yield query
    for token in tokens(other)[:2]:
        yield Query(Term(token))
        yield Query(Not(Term(token)))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, other=texts)
def test_search_finds_what_the_watch_matches_in_any_script(shared: Store, text: str, other: str) -> None:
    mention = add(shared, text)
    for query in queries_for(text, other):
        agree(shared, query, mention)
    for token in tokens(text):
        assert Query(Term(token)).matches(mention), token  # every word of a text finds it
        assert tokens(token) == [token]  # a token is stable: the index may split stored words again
        assert token.isascii() <= (token == token.lower() and token.isalnum()), token


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    handle=st.one_of(
        st.sampled_from(["@Ärger", "ÄRGER", "mario_rossi", "Ωmega", "@@x", "j.doe"]), st.text(max_size=8)
    )
)
def test_author_means_the_same_to_the_watch_and_to_search(shared: Store, handle: str) -> None:
    with_handle = add(shared, "hello", author_handle=handle)
    without = add(shared, "hello")
    for value in {handle, handle.upper(), handle.lower(), "ärger"}:
        if '"' in value:
            continue
        try:
            query = Query.parse(f'author:"{value}"')
        except QueryError:
            assert not value.strip().lstrip("@")
            continue
        for q in (query, Query(Not(query.root))):
            agree(shared, q, with_handle)
            agree(shared, q, without)


# -- each script of the issue, by example ------------------------------------------------


@pytest.mark.parametrize(
    ("watch", "text", "expected"),
    [
        ("rimborso", "Voglio il rimborso🤬", True),
        ("rimborso", "rimborso😡😡 subito", True),
        ("йогурт", "Купил ЙОГУРТ вчера", True),
        ("все", "Всё хорошо", True),  # ё is е with a diaeresis
        ("ёлка", "елка", True),
        ("が", "か\u3099ん", False),  # a word of its own, not part of がん
        ("がん", "か\u3099ん", True),  # decomposed kana is the same word
        ("か\u3099ん", "がん検診", False),
        ("か\u3099ん*", "がん検診", True),
        ("ばか", "はか", False),  # voicing marks are letters, not accents
        ("한국어", "한국어 공부", True),
        ("한국어", unicodedata.normalize("NFD", "한국어 공부"), True),
        ("한국*", "한국어", True),
        ("שלום", "שָׁלוֹם לכולם", True),  # Hebrew points
        ("שָׁלוֹם", "שלום לכולם", True),
        ("مرحبا", "مَرْحَبًا بكم", True),  # Arabic harakat
        ("తెలుగు", "నేను తెలుగు మాట్లాడతాను", True),  # Telugu vowel signs belong to the word
        ("తలగ", "నేను తెలుగు మాట్లాడతాను", False),
        ("हिन्दी", "मैं हिन्दी बोलता हूँ", True),
        ("zalgo", "Z̸̧̛a̵͈l̴g̷o̶ is coming", True),
        ('"zalgo is"', "Z̸̧̛a̵͈l̴g̷o̶ is coming", True),
        ("ok", "ok\ufe0f", True),
        ("caffè", "Caffe\u0300 Aurora", True),
        ("#caffeaurora", "evviva #CaffeAurora", True),
    ],
)
def test_each_script_is_found_as_the_watch_matches_it(
    shared: Store, watch: str, text: str, expected: bool
) -> None:
    assert agree(shared, Query.parse(watch), add(shared, text)) is expected


@pytest.mark.parametrize("source", ['author:""', "author:@", 'author:"  "', 'author:"@"', 'lang:""'])
def test_an_empty_field_value_is_refused_not_matched_on_one_side(source: str) -> None:
    with pytest.raises(QueryError, match="needs a value"):
        parse(source)


def test_fields_mean_the_same_on_mentions_without_author_or_language(shared: Store) -> None:
    bare = add(shared, "plain")
    for source in ("-author:mario", "-lang:it", "-network:reddit", "-site:acme.it", "plain -author:mario"):
        assert agree(shared, Query.parse(source), bare) is True


# -- nesting, and bytes that are not text -------------------------------------------


def worst(depth: int) -> str:
    """A query ``depth`` levels deep whose SQL nests as deep as any: OR, NOT and AND alternating."""
    levels, rest = divmod(depth, 3)
    return "".join(f"(a{i} OR -(b{i} " for i in range(levels)) + "-" * rest + "lang:it" + "))" * levels


@pytest.mark.parametrize(
    "source", [worst(MAX_DEPTH), "(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH, "a " + "NOT " * MAX_DEPTH + "b"]
)
def test_a_query_as_deep_as_allowed_searches(shared: Store, source: str) -> None:
    agree(shared, Query.parse(source), add(shared, "a0 b0 lang"))


@pytest.mark.parametrize(
    "source",
    ["(" * 400 + "a" + ")" * 400, "a " + "NOT " * 5000 + "b", "-" * 300 + "a", worst(MAX_DEPTH + 1)],
)
def test_too_deep_a_query_is_one_clear_error(source: str) -> None:
    with pytest.raises(QueryError, match=f"too deeply nested: more than {MAX_DEPTH} .*simplify the query"):
        parse(source)


def test_a_byte_that_is_not_utf8_is_named() -> None:
    with pytest.raises(QueryError, match="byte 0xff is not UTF-8") as caught:
        parse("acme \udcff")
    assert caught.value.column == 6
    with pytest.raises(QueryError, match="U\\+D83D is a lone surrogate"):
        parse("\ud83d")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "listener.db"
    with Store.open(path) as store:
        store.save_page(Page("x", "w", [Mention("x", "1", "Voglio il rimborso🤬", T0)]))
    return path


@pytest.mark.parametrize(
    ("args", "words_"),
    [
        (["(" * 400 + "a" + ")" * 400], "too deeply nested"),
        (["a " + "NOT " * 3000 + "b"], "too deeply nested"),
        (["\udcff"], "the query is not text: byte 0xff is not UTF-8"),
        (["rimborso", "--watch", "\udcff"], "--watch is not text: byte 0xff is not UTF-8"),
        (["rimborso", "--network", "x\udcfe"], "--network is not text: byte 0xfe is not UTF-8"),
        (["--collapse", "(" * 50 + "a" + ")" * 50], "too deeply nested"),
    ],
)
def test_search_prints_one_line_not_a_traceback(
    db: Path, tmp_path: Path, args: list[str], words_: str
) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "none.toml"), "--db", str(db), "search", *args]
    )
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert words_ in result.stderr and result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_search_finds_the_emoji_mention_from_the_command_line(db: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--config", str(tmp_path / "none.toml"), "--db", str(db), "search", "rimborso"]
    )
    assert result.exit_code == 0, result.output
    assert "rimborso" in result.stdout


# -- the upgrade ----------------------------------------------------------------


def test_an_older_database_is_reindexed_and_triggers_keep_the_index_exact(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrate(conn, MIGRATIONS[:10])
    texts = {"1": "Voglio il rimborso🤬", "2": "か\u3099ん検診", "3": "שָׁלוֹם", "4": "plain caffè"}
    for native_id, text in texts.items():
        conn.execute(
            "INSERT INTO mentions (network, native_id, text, author_handle, created_at, collected_at, raw) "
            "VALUES ('x', ?, ?, 'Mario', '2026-11-20T00:00:00Z', '2026-11-20T00:00:00Z', '{}')",
            (native_id, text),
        )
    conn.close()

    def ids(store: Store, source: str) -> set[str]:
        return {h.native_id for h in store.search(parse(source), SearchFilters(), limit=100)}

    with Store.open(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert ids(store, "rimborso") == {"1"}
        assert ids(store, "がん検診") == {"2"}
        assert ids(store, "שלום") == {"3"}
        assert ids(store, "caffe") == {"4"}
        assert ids(store, "author:mario") == set(texts)
        stored = store.conn.execute("SELECT text FROM mentions_fts WHERE rowid = 1").fetchone()
        assert stored == (words(texts["1"]),)

        store.save_page(Page("x", "w", [Mention("x", "1", "rimborso arrivato", T0)]))  # an edit re-indexes
        assert ids(store, "arrivato") == {"1"} and ids(store, "voglio") == set()
        store.conn.execute("UPDATE mentions SET sentiment_label = 'neutral'")  # not an indexed column
        assert store.forget_author("x", "mario") == len(texts)  # deletes re-index too
        assert ids(store, "rimborso") == set()
        count = store.conn.execute("SELECT count(*) FROM mentions").fetchone()
        assert store.conn.execute("SELECT count(*) FROM mentions_fts").fetchone() == count
        store.conn.execute("INSERT INTO mentions_fts (mentions_fts, rank) VALUES ('integrity-check', 1)")


def test_full_text_search_from_sql_reads_the_same_words(store: Store) -> None:
    store.save_page(Page("x", "w", [Mention("x", "1", "Perché il rimborso🤬?", T0)]))
    assert store.conn.execute(
        "SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH 'perche'"
    ).fetchall() == [(1,)]
    assert store.conn.execute(
        "SELECT rowid FROM mentions_fts WHERE mentions_fts MATCH 'rimborso'"
    ).fetchall() == [(1,)]
