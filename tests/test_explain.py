"""Alert explanations: the words and tags behind a surge, not the brand or filler words."""

from __future__ import annotations

from listener.alerts.explain import Terms, driving_terms, explain
from storage.store import WindowMention


def wm(text: str, lang: str, author: str = "a", engagement: int = 0) -> WindowMention:
    return WindowMention(
        "x",
        author,
        text,
        f"https://x.com/{author}/status/1",
        lang,
        engagement,
        "2026-11-20T09:00:00+00:00",
        None,
    )


def test_driving_terms_rank_what_is_new_against_the_baseline() -> None:
    baseline = ["il caffè aurora è buono"] * 50 + ["aurora apre a milano"] * 20
    window = ["aurora rimborso negato, vergogna"] * 10 + ["il caffè aurora è buono"] * 5
    terms = [
        t["term"] for t in driving_terms(Terms.of(window), Terms.of(baseline), exclude=frozenset({"aurora"}))
    ]
    assert terms[:3] == ["rimborso", "negato", "vergogna"] or set(terms[:3]) == {
        "rimborso",
        "negato",
        "vergogna",
    }
    assert "buono" not in terms and "aurora" not in terms


def test_an_english_wave_on_an_italian_brand_does_not_list_filler_words() -> None:
    baseline = [wm("buongiorno dal caffè aurora, che bello", "it")] * 60
    window = [
        wm(f"the aurora app and the refund are a joke #AuroraDown {i}", "en", f"u{i % 3}", i)
        for i in range(12)
    ]
    found = explain(window, Terms.of(m.text for m in baseline), {"metric": "volume"}, frozenset({"aurora"}))
    terms = [t["term"] for t in found["terms"]]
    assert {"refund", "app", "joke"} <= set(terms)
    assert not {"the", "and", "are", "auroradown"} & set(terms)
    assert found["hashtags"][0]["tag"] == "#auroradown"
    assert [a["handle"] for a in found["authors"]] == ["u0", "u1", "u2"]
    assert found["samples"][0]["engagement"] == 11
    assert found["languages"] == {"en": 12} and found["networks"] == {"x": 12}
