"""The one tokenizer of the watch matcher and the full-text index.

The full-text index stores the words ``tokens`` gives (``words``, called by the
index's triggers) and search compiles its terms with it, so the local matcher
and full-text search agree on every script, not just on the ones SQLite's own
tokenizer happens to split the same way. This module imports nothing of ours.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["handle_key", "normalize", "tokens", "undecodable", "words"]

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
# Kana voicing marks are letters, not accents: ば (baka) and は (haka) are different words.
_KEPT_MARKS = {0x3099, 0x309A}
# Invisible selectors that only pick a glyph: a word with one is the same word.
_IGNORABLE = {0x034F, 0x180B, 0x180C, 0x180D, 0x180F, *range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}


class _Fold(dict[int, str | None]):
    """``str.translate`` table, filled on first sight of each character.

    Diacritics (combining class > 0), enclosing marks and selectors go; letters,
    digits and the vowel signs of abugidas (Telugu, Hindi: marks of class 0, part
    of the word) stay; anything else (punctuation, emoji, spaces) separates words.
    """

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        category = unicodedata.category(ch)
        if category[0] == "M" and code not in _KEPT_MARKS:
            drop = unicodedata.combining(ch) or category == "Me" or code in _IGNORABLE
            value: str | None = None if drop else ch
        else:
            value = ch if ch.isalnum() or code in _KEPT_MARKS else " "
        self[code] = value
        return value


_FOLD = _Fold()


def normalize(text: str) -> str:
    """Lower-case and strip diacritics: ``Perché`` -> ``perche``, ``ё`` -> ``е``; ``が`` stays."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    kept = "".join(ch for ch in decomposed if _FOLD[ord(ch)] is not None)
    return unicodedata.normalize("NFC", kept)


def tokens(text: str) -> list[str]:
    """Split text into search tokens: the one tokenizer of the matcher and the index.

    A token is a run of letters and digits (with their class-0 marks), lower-cased,
    without diacritics, composed (NFC): so ``か`` + ``゙`` and ``が`` are one token,
    and a token never holds a space or ASCII punctuation, which is what lets the
    index split stored words on those alone.
    """
    if text.isascii():  # the common case: no Unicode tables needed
        return _ASCII_WORD.findall(text.lower())
    folded = unicodedata.normalize("NFD", text.lower()).translate(_FOLD)
    return unicodedata.normalize("NFC", folded).split()


def words(text: str | None) -> str | None:
    """The tokens of ``text`` joined by spaces: what the full-text index stores for it."""
    return None if text is None else " ".join(tokens(text))


def handle_key(handle: str | None) -> str:
    """What ``author:`` compares: the handle without ``@``, lower-cased (``@Mario`` -> ``mario``)."""
    return (handle or "").lstrip("@").lower()


def undecodable(text: str) -> tuple[int, str] | None:
    """The 1-based column and a description of the first character that is not text.

    A byte that is not UTF-8 on the command line (``$'\\xff'``) reaches Python as a
    lone surrogate, which SQLite cannot store or compare.
    """
    found = _SURROGATE.search(text)
    if found is None:
        return None
    code = ord(found.group())
    if 0xDC80 <= code <= 0xDCFF:  # how surrogateescape carries an undecodable byte
        return found.start() + 1, f"byte 0x{code - 0xDC00:02x} is not UTF-8"
    return found.start() + 1, f"U+{code:04X} is a lone surrogate, not a character"
