"""The watch query language: one parser, used everywhere.

    "caffè acme" OR #acme -lavoro lang:it (network:reddit OR site:acme.it)

Words, "exact phrases", ``word*`` prefixes, OR, AND (implicit), NOT / -word,
parentheses, and the fields ``lang:``, ``author:``, ``network:``, ``site:`` and
``sentiment:`` (the stored label: for searches only, a watch cannot use it, since
mentions are matched when collected, before they are scored).
A query compiles to a local matcher (``Query.matches``), to an FTS5 MATCH
expression (``to_fts``) and, in each collector, to the network's own syntax by
walking the same tree. Words match whole tokens, accent- and case-insensitively.
Words are split by ``listener.tokens``, the one tokenizer of the matcher and
the full-text index.

This module imports nothing of ours but ``listener.errors`` and ``listener.tokens``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Literal, Protocol
from urllib.parse import urlsplit

from listener.errors import QueryError
from listener.tokens import handle_key, normalize, tokens, undecodable, words

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "SENTIMENTS",
    "And",
    "Field",
    "Node",
    "Not",
    "Or",
    "Phrase",
    "Query",
    "Term",
    "handle_key",
    "is_fts",
    "normalize",
    "parse",
    "to_fts",
    "tokens",
    "undecodable",
    "uses_field",
    "words",
]

FIELDS = ("lang", "author", "network", "site", "sentiment")
FieldName = Literal["lang", "author", "network", "site", "sentiment"]
SENTIMENTS = ("negative", "neutral", "positive")  # mentions.sentiment_label
_KEYWORDS = {"OR", "AND", "NOT"}
MAX_DEPTH = 20  # parentheses and NOTs inside one another; SQLite 3.40 overflows its parser near 30
# -- the tree ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    word: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    text: str


@dataclass(frozen=True, slots=True)
class Field:
    name: FieldName
    value: str


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


Node = Term | Phrase | Field | Not | And | Or


# -- parsing -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: Literal["word", "phrase", "lparen", "rparen", "minus"]
    text: str
    column: int  # 1-based


def _lex(source: str) -> Iterator[_Tok]:
    i = 0
    while i < len(source):
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            yield _Tok("lparen" if ch == "(" else "rparen", ch, i + 1)
            i += 1
        elif ch == '"':
            end = source.find('"', i + 1)
            if end == -1:
                raise QueryError("unterminated quote", source, i + 1)
            yield _Tok("phrase", source[i + 1 : end], i + 1)
            i = end + 1
        elif ch == "-" and i + 1 < len(source) and not source[i + 1].isspace():
            yield _Tok("minus", ch, i + 1)
            i += 1
        else:
            start = i
            while i < len(source) and not source[i].isspace() and source[i] not in '()"':
                i += 1
            yield _Tok("word", source[start:i], start + 1)


class _Parser:
    """Recursive descent: or_expr := and_expr (OR and_expr)*, and so on down."""

    def __init__(self, source: str) -> None:
        self.source = source
        if (bad := undecodable(source)) is not None:
            column, what = bad
            raise QueryError(
                f"the query is not text: {what}; retype it or fix the terminal's encoding", source, column
            )
        self.toks = list(_lex(source))
        self.pos = 0
        self.depth = 0  # parentheses and NOTs open around the current position

    def error(self, message: str, column: int | None = None) -> QueryError:
        if column is None:
            column = self.toks[self.pos].column if self.pos < len(self.toks) else len(self.source) + 1
        return QueryError(message, self.source, column)

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def peek_keyword(self, keyword: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text == keyword

    def parse(self) -> Node:
        if not self.toks:
            raise self.error("empty query", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            raise self.error(f"unexpected {tok.text!r}")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.peek_keyword("OR"):
            self.pos += 1
            children.append(self.and_expr())
        return _join(Or, children)

    def and_expr(self) -> Node:
        children = [self.unary()]
        while (tok := self.peek()) is not None and tok.kind != "rparen" and not self.peek_keyword("OR"):
            if self.peek_keyword("AND"):
                self.pos += 1
            children.append(self.unary())
        return _join(And, children)

    def nest(self, tok: _Tok) -> None:
        """One level deeper; too deep is an error here, not a RecursionError or an SQLite stack overflow."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(
                f"too deeply nested: more than {MAX_DEPTH} parentheses and NOTs inside one another; "
                "simplify the query (NOT NOT a is a)",
                tok.column,
            )

    def unary(self) -> Node:
        tok = self.peek()
        if tok is not None and (tok.kind == "minus" or (tok.kind == "word" and tok.text == "NOT")):
            self.pos += 1
            if self.peek() is None:
                raise self.error(f"nothing after {tok.text!r}", tok.column)
            self.nest(tok)
            child = self.unary()
            self.depth -= 1
            return Not(child)
        return self.atom()

    def atom(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise self.error("query ends where a word was expected")
        self.pos += 1
        if tok.kind == "lparen":
            if self.peek() is not None and self.peek().kind == "rparen":  # type: ignore[union-attr]
                raise self.error("empty parentheses", tok.column)
            self.nest(tok)
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise self.error("unbalanced parenthesis: missing ')'", tok.column)
            self.pos += 1
            self.depth -= 1
            return node
        if tok.kind == "rparen":
            raise self.error("unbalanced parenthesis: ')' without '('", tok.column)
        if tok.kind == "phrase":
            return self.phrase(tok.text, tok.column)
        if tok.text in _KEYWORDS:
            raise self.error(f"{tok.text} needs a word on each side", tok.column)
        return self.word(tok)

    def phrase(self, text: str, column: int) -> Phrase:
        if not tokens(text):
            raise self.error("a phrase needs at least one letter or digit", column)
        return Phrase(" ".join(text.split()))

    def word(self, tok: _Tok) -> Node:
        name, colon, value = tok.text.partition(":")
        if colon and name.isalpha():
            return self.field(name, value, tok.column)
        word, prefix = (tok.text[:-1], True) if tok.text.endswith("*") else (tok.text, False)
        if not tokens(word):
            raise self.error(f"{tok.text!r} has no letter or digit to search for", tok.column)
        return Term(word, prefix)

    def field(self, name: str, value: str, column: int) -> Field:
        if name not in FIELDS:
            raise self.error(
                f"unknown field {name!r}: use {', '.join(f + ':' for f in FIELDS)} or put it in quotes",
                column,
            )
        if not value:
            nxt = self.peek()
            if nxt is None or nxt.kind != "phrase" or nxt.column != column + len(name) + 1:
                raise self.error(f"{name}: needs a value, e.g. {_EXAMPLES[name]}", column)
            value = nxt.text.strip()
            self.pos += 1
        if name == "author":
            value = value.lstrip("@")
        if not value:  # author:"" or author:@ would mean "no author" here and "nothing" in SQL
            raise self.error(f"{name}: needs a value, e.g. {_EXAMPLES[name]}", column)
        if name == "sentiment" and value.lower() not in SENTIMENTS:
            raise self.error(f"sentiment: is one of {', '.join(SENTIMENTS)}, not {value!r}", column)
        return Field(name, value.lower() if name != "author" else value)  # type: ignore[arg-type]


_EXAMPLES = {
    "lang": "lang:it", "author": "author:acme", "network": "network:reddit", "site": "site:acme.it",
    "sentiment": "sentiment:negative",
}  # fmt: skip


def _join(kind: type[And] | type[Or], children: list[Node]) -> Node:
    """Build And/Or, flattening nested ones of the same kind."""
    flat: list[Node] = []
    for child in children:
        flat.extend(child.children if isinstance(child, kind) else [child])
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def parse(source: str) -> Node:
    """Parse a query; a syntax error is a ``QueryError`` carrying the column."""
    return _Parser(source).parse()


def uses_field(node: Node, name: str) -> bool:
    """Whether ``name:`` appears anywhere in the tree (a watch may not use ``sentiment:``)."""
    match node:
        case Field(field_name, _):
            return field_name == name
        case Not(child):
            return uses_field(child, name)
        case And(children) | Or(children):
            return any(uses_field(c, name) for c in children)
    return False


# -- rendering ---------------------------------------------------------------

_BARE = re.compile(r'^[^\s()"\-:][^\s()":]*$')


def render(node: Node) -> str:
    """The canonical text of a query: ``parse(render(n)) == n``."""
    match node:
        case Term(word, prefix):
            return word + ("*" if prefix else "")  # the lexer only makes bare words
        case Phrase(text):
            return f'"{text}"'
        case Field(name, value):
            return f"{name}:{value}" if _BARE.match(value) else f'{name}:"{value}"'
        case Not(child):
            inner = render(child)
            return f"-{inner}" if isinstance(child, Term | Phrase | Field) else f"-({inner})"
        case And(children):
            return " ".join(f"({render(c)})" if isinstance(c, Or) else render(c) for c in children)
        case Or(children):
            return " OR ".join(render(c) for c in children)
    raise TypeError(node)


# -- FTS5 --------------------------------------------------------------------


def is_fts(node: Node) -> bool:
    """Whether FTS5 alone can answer ``node``: text only, no bare negation."""
    match node:
        case Term() | Phrase():
            return True
        case And(children):
            positives = [c for c in children if not isinstance(c, Not)]
            negatives = [c.child for c in children if isinstance(c, Not)]
            return bool(positives) and all(is_fts(c) for c in positives + negatives)
        case Or(children):
            return all(is_fts(c) for c in children)
    return False


def _fts_string(text: str) -> str:
    return '"' + " ".join(tokens(text)).replace('"', '""') + '"'


def to_fts(node: Node) -> str:
    """Compile a text-only node (see ``is_fts``) to an FTS5 MATCH expression."""
    match node:
        case Term(word, prefix):
            return _fts_string(word) + (" *" if prefix else "")
        case Phrase(text):
            return _fts_string(text)
        case And(children):
            positives = [c for c in children if not isinstance(c, Not)]
            expr = " AND ".join(f"({to_fts(c)})" for c in positives)
            for c in children:
                if isinstance(c, Not):
                    expr = f"({expr}) NOT ({to_fts(c.child)})"
            return expr
        case Or(children):
            return " OR ".join(f"({to_fts(c)})" for c in children)
    raise ValueError(f"{render(node)!r} cannot be expressed in FTS5 alone")


# -- local matching ----------------------------------------------------------


class Matchable(Protocol):
    """What the matcher reads of a mention (``listener.records.Mention`` fits)."""

    @property
    def network(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def author_handle(self) -> str | None: ...
    @property
    def language(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...


def _contains(haystack: list[str], needle: list[str], prefix: bool) -> bool:
    n = len(needle)
    for i in range(len(haystack) - n + 1):
        window = haystack[i : i + n]
        if window[:-1] == needle[:-1] and (
            window[-1].startswith(needle[-1]) if prefix else window[-1] == needle[-1]
        ):
            return True
    return False


def host_matches(url: str | None, domain: str) -> bool:
    """``site:acme.it`` matches acme.it and any subdomain of it."""
    if not url:
        return False
    host = (urlsplit(url).hostname or "").lower()
    return host == domain or host.endswith("." + domain)


def lang_matches(language: str | None, lang: str) -> bool:
    """``lang:pt`` matches ``pt`` and ``pt-BR``."""
    language = (language or "").lower()
    return language == lang or language.startswith(lang + "-")


class _Evaluator:
    """Evaluate a tree against one mention, tokenizing it at most once."""

    def __init__(self, mention: Matchable) -> None:
        self.mention = mention

    @cached_property
    def text_tokens(self) -> list[str]:
        return tokens(self.mention.text)

    @cached_property
    def handle_tokens(self) -> list[str]:
        return tokens(self.mention.author_handle or "")

    def text(self, needle: list[str], prefix: bool) -> bool:
        # FTS5 matches a phrase within one column, never across two.
        return _contains(self.text_tokens, needle, prefix) or _contains(self.handle_tokens, needle, prefix)

    def __call__(self, node: Node) -> bool:
        m = self.mention
        match node:
            case Term(word, prefix):
                return self.text(tokens(word), prefix)
            case Phrase(text):
                return self.text(tokens(text), False)
            case Field("lang", value):
                return lang_matches(m.language, value)
            case Field("author", value):
                return handle_key(m.author_handle) == handle_key(value)
            case Field("network", value):
                return m.network == value
            case Field("site", value):
                return host_matches(m.url, value)
            case Field("sentiment", value):  # None until scored: what the search's SQL says too
                return getattr(m, "sentiment_label", None) == value
            case Not(child):
                return not self(child)
            case And(children):
                return all(self(c) for c in children)
            case Or(children):
                return any(self(c) for c in children)
        raise TypeError(node)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: ``Query.parse(text)``, then match, render or compile it."""

    root: Node

    @classmethod
    def parse(cls, source: str) -> Query:
        return cls(parse(source))

    def matches(self, mention: Matchable) -> bool:
        return _Evaluator(mention)(self.root)

    def __str__(self) -> str:
        return render(self.root)
