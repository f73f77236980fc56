"""Normalise social posts before they are scored.

Both the training script and every backend call :func:`normalize`, so what the
model saw in training is what it sees at run time. The rules keep the signal
that matters for sentiment in posts (emoji, emoticons, elongations, hashtag
words, negation) and fold what does not (which URL, which user).
"""

from __future__ import annotations

import html
import re

__all__ = ["NEGATION_CUES", "mark_negation", "normalize", "tokens"]

_URL = re.compile(r"(?:https?://|www\.)\S+|\bhttp\b", re.IGNORECASE)
_MENTION = re.compile(r"(?<![\w@])@\w+")
# Some corpora (and some exports) carry JSON escapes as literal text: "i\u2019m".
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
# Three or more of the same letter or "!"/"?" become two: "beeeello" -> "beello",
# still distinct from "bello", so the model can learn that stretching adds emphasis.
_ELONGATION = re.compile(r"(\w|[!?])\1{2,}")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-Z])")
_SPACE = re.compile(r"\s+")

# Emoticons map to emoji so that ":-)" and "🙂" share what the model learned.
_EMOTICONS = {
    ":-)": "🙂",
    ":)": "🙂",
    "(:": "🙂",
    ":]": "🙂",
    "=)": "🙂",
    ":-D": "😀",
    ":D": "😀",
    "xD": "😆",
    "XD": "😆",
    ";-)": "😉",
    ";)": "😉",
    ":-P": "😛",
    ":P": "😛",
    ":p": "😛",
    ":-(": "🙁",
    ":(": "🙁",
    "):": "🙁",
    ":[": "🙁",
    ":'(": "😢",
    ":-/": "😕",
    ":/": "😕",
    ":-|": "😐",
    ":|": "😐",
    "<3": "❤️",
    "</3": "💔",
}
_EMOTICON = re.compile(
    r"(?<!\S)(" + "|".join(re.escape(e) for e in sorted(_EMOTICONS, key=len, reverse=True)) + r")(?!\S)"
)


def normalize(text: str) -> str:
    """Return ``text`` with URLs, mentions, escapes, emoticons and elongations folded.

    Case is kept: encoders use it, and shouting is a signal. Hashtags keep their
    "#" and gain their words ("#NonCiSto" -> "#NonCiSto Non Ci Sto") because
    hashtags often carry the whole opinion.
    """
    text = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = html.unescape(text)
    text = _URL.sub("http", text)
    text = _MENTION.sub("@user", text)
    text = _EMOTICON.sub(lambda m: _EMOTICONS[m.group(1)], text)
    text = _ELONGATION.sub(r"\1\1", text)
    text = _HASHTAG.sub(_expand_hashtag, text)
    return _SPACE.sub(" ", text).strip()


def _expand_hashtag(match: re.Match[str]) -> str:
    word = match.group(1)
    split = _CAMEL.sub(" ", word).replace("_", " ")
    return f"#{word} {split}" if split != word else f"#{word} {word}"


# Cues that open a negation scope, lower-case, in the languages we ship for.
NEGATION_CUES = frozenset(
    {
        # Italian
        "non", "né", "mai", "niente", "nulla", "nessuno", "nessuna", "nessun", "senza",
        "mica", "neanche", "nemmeno", "neppure",
        # English
        "not", "no", "never", "nothing", "nobody", "none", "neither", "nor",
        "without", "cannot", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt",
        "werent", "wont", "cant", "couldnt", "shouldnt", "wouldnt", "aint",
        # Spanish, Portuguese, French, German
        "nunca", "nada", "nadie", "sin", "não", "nao", "nem", "sem", "ne", "pas",
        "jamais", "rien", "sans", "nicht", "kein", "keine", "keinen", "nie", "ohne",
    }
)  # fmt: skip
_SCOPE_END = frozenset(".,;:!?")
_TOKEN = re.compile(r"[#@]?\w+(?:'\w+)?|[^\w\s]", re.UNICODE)


def tokens(text: str) -> list[str]:
    """Lower-case word and symbol tokens; "don't" -> "dont" so cues match."""
    out = []
    for tok in _TOKEN.findall(text.lower().replace("’", "'")):
        if tok.endswith("n't"):
            tok = tok.replace("'", "")
        out.append(tok)
    return out


def mark_negation(toks: list[str], scope: int = 4) -> list[str]:
    """Prefix up to ``scope`` tokens after a negation cue with ``NEG_``.

    "non è affatto male" -> ["non", "NEG_è", "NEG_affatto", "NEG_male"]: the
    model can then learn that a negated "male" is not a negative word. The scope
    ends at punctuation, as in Das & Chen (2001) and Pang et al. (2002).
    """
    out: list[str] = []
    left = 0
    for tok in toks:
        if tok in _SCOPE_END:
            left = 0
            out.append(tok)
        elif tok in NEGATION_CUES:
            left = scope
            out.append(tok)
        elif left:
            out.append("NEG_" + tok)
            left -= 1
        else:
            out.append(tok)
    return out
