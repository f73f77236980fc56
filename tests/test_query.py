"""The query language: parses, round-trips, rejects with a column, and means the same everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from listener.errors import QueryError
from listener.model import Mention, Page
from listener.query import And, Field, Not, Or, Phrase, Query, Term, is_fts, parse, render, to_fts
from storage import SearchFilters, Store

T0 = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("source", "tree"),
    [
        ("acme", Term("acme")),
        ("acme coffee", And((Term("acme"), Term("coffee")))),
        ("acme AND coffee", And((Term("acme"), Term("coffee")))),
        ("acme OR aurora", Or((Term("acme"), Term("aurora")))),
        ('"caffè aurora"', Phrase("caffè aurora")),
        ("-promo", Not(Term("promo"))),
        ("NOT promo", Not(Term("promo"))),
        ("aurora*", Term("aurora", prefix=True)),
        ("a b OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("a (b OR c)", And((Term("a"), Or((Term("b"), Term("c")))))),
        ("lang:IT", Field("lang", "it")),
        ("author:@Aurora_Official", Field("author", "Aurora_Official")),
        ("network:reddit", Field("network", "reddit")),
        ("site:aurora.it", Field("site", "aurora.it")),
        ('author:"Mario Rossi"', Field("author", "Mario Rossi")),
        ("-(a OR b)", Not(Or((Term("a"), Term("b"))))),
        ("#caffeaurora", Term("#caffeaurora")),
        ("12:30", Term("12:30")),
    ],
)
def test_parse_builds_the_expected_tree_and_round_trips(source: str, tree: object) -> None:
    assert parse(source) == tree
    assert parse(render(parse(source))) == tree


@pytest.mark.parametrize(
    ("source", "column", "words"),
    [
        ("(acme", 1, "missing ')'"),
        ("acme)", 5, "unexpected ')'"),
        ("acme OR", 8, "word was expected"),
        ('acme "caffè', 6, "unterminated quote"),
        ("acme foo:bar", 6, "unknown field 'foo'"),
        ("lang:", 1, "needs a value"),
        ("a ()", 3, "empty parentheses"),
        ("OR acme", 1, "needs a word on each side"),
        ("acme -", 6, "no letter or digit"),
        ("!!!", 1, "no letter or digit"),
        ("", 1, "empty query"),
        ("acme NOT", 6, "nothing after 'NOT'"),
        ('author:""', 1, "needs a value"),
        ("author:@", 1, "needs a value"),
        ("(" * 21 + "a" + ")" * 21, 21, "too deeply nested"),
        ("a " + "NOT " * 3000 + "b", 83, "too deeply nested"),
        ("a \udcff", 3, "byte 0xff is not UTF-8"),
    ],
)
def test_bad_syntax_is_rejected_with_its_column(source: str, column: int, words: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(source)
    assert caught.value.column == column
    assert words in str(caught.value)
    assert str(caught.value).endswith(f"at column {column}")


def test_fts_compilation() -> None:
    assert to_fts(parse("perché")) == '"perche"'
    assert to_fts(parse("coca-cola")) == '"coca cola"'
    assert to_fts(parse("auro*")) == '"auro" *'
    assert to_fts(parse('a -b "c d"')) == '(("a") AND ("c d")) NOT ("b")'
    assert not is_fts(parse("-a"))
    assert not is_fts(parse("a lang:it"))


def matchable(text: str, **extra: object) -> Mention:
    return Mention(network="x", native_id="1", text=text, created_at=T0, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("aurora", "Caffè AURORA!", True),
        ("aurora", "auroraboreale", False),
        ("auro*", "auroraboreale", True),
        ('"caffe aurora"', "il Caffè Aurora di via Roma", True),
        ('"caffe aurora"', "aurora caffè", False),
        ("aurora -promo", "Aurora promo oggi", False),
        ("#caffeaurora", "evviva #CaffeAurora", True),
        ("perché", "perche no", True),
    ],
)
def test_local_matcher(query: str, text: str, expected: bool) -> None:
    assert Query.parse(query).matches(matchable(text)) is expected


def test_local_matcher_fields() -> None:
    m = matchable("hello", language="pt-BR", author_handle="@Mario", url="https://shop.aurora.it/x")
    assert Query.parse("lang:pt author:mario site:aurora.it network:x").matches(m)
    assert not Query.parse("site:ora.it").matches(m)
    assert not Query.parse("network:reddit OR lang:it").matches(m)


# -- the local matcher and FTS5 agree ------------------------------------------------

VOCAB = ["aurora", "Aurora", "caffè", "caffe", "perché", "rimborso", "buono", "mai", "più", "x1"]
texts = st.lists(st.sampled_from(VOCAB), min_size=0, max_size=6).map(" ".join)
leaf = st.one_of(
    st.sampled_from(VOCAB).map(Term),
    st.sampled_from(["caff", "aur", "rim"]).map(lambda w: Term(w, prefix=True)),
    st.lists(st.sampled_from(VOCAB), min_size=2, max_size=2).map(lambda ws: Phrase(" ".join(ws))),
    st.sampled_from(["it", "en"]).map(lambda v: Field("lang", v)),
)
trees = st.recursive(
    leaf,
    lambda kids: st.one_of(
        kids.map(Not),
        st.lists(kids, min_size=2, max_size=3).map(lambda cs: parse(render(And(tuple(cs))))),
        st.lists(kids, min_size=2, max_size=3).map(lambda cs: parse(render(Or(tuple(cs))))),
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list[Mention]]:
    import random

    rng = random.Random(3)
    mentions = [
        matchable(" ".join(rng.choices(VOCAB, k=rng.randint(0, 6))), language=rng.choice(["it", "en"]))
        for _ in range(60)
    ]
    mentions = [
        Mention(network="x", native_id=str(i), text=m.text, created_at=T0, language=m.language)
        for i, m in enumerate(mentions)
    ]
    store = Store.open(tmp_path_factory.mktemp("q") / "listener.db")
    store.save_page(Page("x", "w", mentions))
    return store, mentions


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_search_and_local_matcher_agree(corpus: tuple[Store, list[Mention]], tree: object) -> None:
    store, mentions = corpus
    query = Query(tree)  # type: ignore[arg-type]
    expected = {m.native_id for m in mentions if query.matches(m)}
    found = {h.native_id for h in store.search(query.root, SearchFilters(), limit=1000)}
    assert found == expected, str(query)


@settings(max_examples=200, deadline=None)
@given(tree=trees)
def test_render_round_trips_any_tree(tree: object) -> None:
    assert parse(render(tree)) == tree  # type: ignore[arg-type]


@given(st.text(max_size=40))
def test_parser_never_crashes_on_arbitrary_text(source: str) -> None:
    try:
        parse(source)
    except QueryError as exc:
        assert 1 <= exc.column <= len(source) + 1
