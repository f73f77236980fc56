"""Hand-picked cues for negative posts in Italian and English, as a few dense counts.

Complaints about money and service ("addebito", "rimborso", "truffa", "refund",
"charged twice"), sarcasm markers ("sì, certo", "yeah right", 🙄) and emoji are
what a brand's negative posts are made of, yet each is rare in the labelled
tweets, so the n-grams learn them weakly. Counted here into a handful of
features, they get a small logistic-regression head of their own;
``scripts/train_sentiment.py`` keeps that head only if cross-validation says it helps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["CUES", "cue_matrix"]


def _pattern(words: str) -> re.Pattern[str]:
    """Alternatives separated by "|"; each matches at a word start, case-insensitively."""
    return re.compile(r"(?<!\w)(?:" + words + r")", re.IGNORECASE)


# Each cue is one feature: how many times it occurs (capped, see cue_matrix).
CUES: dict[str, re.Pattern[str]] = {
    "complaint_it": _pattern(
        r"addebit|rimbors|truff|fregat|disservizi|reclam|bollett|disdett|guast|"
        r"non funziona|non risponde|nessuna risposta|assistenza|attesa|ritard|"
        r"vergogn|schif|pessim|ladri|incompetent|disattivat|bloccat"
    ),
    "complaint_en": _pattern(
        r"refund|charged twice|double charged|overcharg|scam|ripped off|rip off|"
        r"customer service|on hold|still waiting|no response|doesn'?t work|not working|"
        r"cancel+ed|delay|broken|worst|useless|disgust|unacceptable|ridiculous"
    ),
    "sarcasm": _pattern(
        r"s[iì],? certo|come no|grazie tante|bravi bravi|complimenti vivissimi|ma dai|"
        r"yeah right|sure,? jan|thanks a lot|great job|just what i needed|#sarcas\w*|#ironi\w*|/s\b"
    ),
    "emoji_neg": re.compile("[😠😡🤬😤😒🙄😞😔😟😢😭😩😫🤮🤢💩👎😕🙁☹💔😑😐🤦]"),
    "emoji_pos": re.compile("[😀😃😄😁😆😊🙂😍🥰😘❤💕💖👍👏🎉🙏😎🤩✨💪🥳]"),
    "laugh": _pattern(r"ahah\w*|haha\w*|lol\b|lmao|😂|🤣"),
    "shout": re.compile(r"\b[A-ZÀ-Ý]{4,}\b"),
    "exclaim": re.compile(r"!"),
    "question": re.compile(r"\?"),
}


def cue_matrix(texts: Sequence[str]) -> np.ndarray:
    """(n, len(CUES)) float32: log(1 + count) per cue, so one hit matters and ten do not dominate."""
    out = np.zeros((len(texts), len(CUES)), dtype=np.float32)
    for i, text in enumerate(texts):
        for j, pattern in enumerate(CUES.values()):
            out[i, j] = len(pattern.findall(text))
    return np.log1p(out)
