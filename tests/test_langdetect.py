"""Offline language detection: known sentences, gaps, and accuracy on the shared tweets."""

from __future__ import annotations

from pathlib import Path

import pytest

from listener.sentiment import detect_language, resolve_languages


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Oggi il servizio clienti non mi ha risposto per niente", "it"),
        ("The customer service never answered my emails", "en"),
        ("El servicio al cliente nunca respondió a mis correos", "es"),
        ("Le service client n'a jamais répondu à mes courriels", "fr"),
        ("Der Kundendienst hat nie auf meine E-Mails geantwortet", "de"),
        ("O atendimento nunca respondeu aos meus e-mails", "pt"),
    ],
)
def test_detects_sentences(text: str, code: str) -> None:
    assert detect_language(text) == code


def test_handles_links_and_tags_are_ignored() -> None:
    assert detect_language("@user @user https://t.co/abc #MondayMotivation che schifo di giornata") == "it"


@pytest.mark.parametrize("text", ["", "😂😂😂", "@user http://t.co/x #tbt", "ok", "123 456"])
def test_no_language_when_there_is_no_text(text: str) -> None:
    assert detect_language(text) is None


def test_shouting_is_detected() -> None:
    assert detect_language("NON CI POSSO CREDERE, CHE VERGOGNA") == "it"


def test_given_language_wins() -> None:
    texts = ["che bella giornata", "what a day", "che bella giornata"]
    assert resolve_languages(texts, ["pt", None, "IT"]) == ["pt", "en", "it"]


def test_language_count_must_match() -> None:
    with pytest.raises(ValueError, match="2 texts but 1"):
        resolve_languages(["a", "b"], ["it"])


# German's folder holds ~4% posts in English and other languages (checked by
# reading the misses), which caps any detector near 0.93 there; see MODEL_CARD.md.
FLOORS = {
    "italian": 0.95,
    "english": 0.95,
    "spanish": 0.95,
    "french": 0.95,
    "portuguese": 0.95,
    "german": 0.90,
}
CODES = {
    "italian": "it",
    "english": "en",
    "spanish": "es",
    "french": "fr",
    "portuguese": "pt",
    "german": "de",
}


@pytest.mark.parametrize("language", sorted(FLOORS))
def test_accuracy_on_shared_tweets(shared_dir: Path, language: str) -> None:
    folder = shared_dir / "data" / "sentiment" / language
    texts = [
        line
        for split in ("train", "val")
        for line in (folder / f"{split}_text.txt").read_text(encoding="utf-8").split("\n")
    ]
    hits = sum(detect_language(t) == CODES[language] for t in texts)
    assert hits / len(texts) >= FLOORS[language]
