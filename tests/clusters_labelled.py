"""The labelled near-duplicate set: ``tests/data/clusters.jsonl`` with fixture texts filled in.

Scripted lines carry their text; the others point at a string in the recorded fixtures
(file, JSON key, index in document order), read from the shared folder at test time
and optionally edited as a re-sharer would (prefix, suffix, lowercase, replace, truncate).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from functools import cache
from itertools import combinations
from pathlib import Path
from typing import Any

LABELLED = Path(__file__).parent / "data" / "clusters.jsonl"


@dataclass(frozen=True, slots=True)
class Item:
    id: str
    story: str
    network: str
    text: str


def _strings(node: Any, key: str, out: list[str]) -> list[str]:
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, str):
                out.append(html.unescape(v))
            else:
                _strings(v, key, out)
    elif isinstance(node, list):
        for v in node:
            _strings(v, key, out)
    return out


@cache
def _fixture(path: Path, key: str) -> tuple[str, ...]:
    return tuple(_strings(json.loads(path.read_text(encoding="utf-8")), key, []))


def _edit(text: str, edit: dict[str, Any]) -> str:
    for old, new in edit.get("replace", ()):
        text = text.replace(old, new)
    if edit.get("lower"):
        text = text.lower()
    if "truncate" in edit:
        text = text[: edit["truncate"]].rstrip() + "…"
    return edit.get("prefix", "") + text + edit.get("suffix", "")


def load(shared_dir: Path) -> list[Item]:
    items = []
    for line in LABELLED.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        text = row.get("text")
        if text is None:
            text = _edit(
                _fixture(shared_dir / "fixtures" / row["fixture"], row["key"])[row["index"]],
                row.get("edit", {}),
            )
        items.append(Item(row["id"], row["story"], row["network"], text))
    return items


def pairwise(items: list[Item], cluster_of: dict[str, int]) -> tuple[float, float, int, int, int]:
    """(precision, recall, true pairs found, pairs predicted, true pairs) over all pairs of items."""
    tp = predicted = actual = 0
    for a, b in combinations(items, 2):
        same = a.story == b.story
        said = cluster_of[a.id] == cluster_of[b.id]
        actual += same
        predicted += said
        tp += same and said
    return (tp / predicted if predicted else 1.0), (tp / actual if actual else 1.0), tp, predicted, actual
