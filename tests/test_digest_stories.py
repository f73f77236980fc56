"""The digest's one list of stories to answer first: triage state, the inbox link, reasons in Italian."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from listener.config import parse_config
from listener.digest.build import DigestOptions, build_digest
from listener.digest.render import render
from listener.digest.words import reason
from storage import Store
from tests.htmlview import HtmlView
from tests.test_digest import CONFIG, DAY, START, config, options, seed


def ids(store: Store, *native: str) -> list[int]:
    marks = ",".join("?" * len(native))
    return [
        row[0] for row in store.conn.execute(f"SELECT id FROM mentions WHERE native_id IN ({marks})", native)
    ]


def test_handled_and_ignored_stories_leave_the_list_escalated_ones_stay(store: Store, tmp_path: Path) -> None:
    seed(store)
    store.triage.set(ids(store, "102"), "handled", now=START + timedelta(hours=20))
    store.triage.set(ids(store, "t1_def"), "ignored", now=START + timedelta(hours=20))
    store.triage.set(ids(store, "200"), "escalated", now=START + timedelta(hours=20))
    d = build_digest(store, options(config(tmp_path)), DAY)
    leads = [r.story.lead.native_id for r in d.stories]
    assert "102" not in leads and "t1_def" not in leads
    assert leads[0] == "200" and "escalated" in d.stories[0].reasons  # on top until handled
    assert (d.to_answer, d.to_answer_more) == (3, False)  # 200, 201, 202: was 5
    text = render(d).text
    assert "3 storie aspettano una tua risposta." in text and "segnalata · negativa" in text
    assert "carla" not in text and "piero" not in text
    store.triage.set(ids(store, "102"), None)  # reopened: back in the list
    assert "102" in [
        r.story.lead.native_id for r in build_digest(store, options(config(tmp_path)), DAY).stories
    ]


def test_the_list_is_as_long_as_the_settings_say_and_the_count_stays_whole(
    store: Store, tmp_path: Path
) -> None:
    seed(store)
    d = build_digest(store, options(config(tmp_path), stories=2), DAY)
    assert [r.story.lead.native_id for r in d.stories] == ["102", "t1_def"]
    assert d.to_answer == 5  # counted over the stories read, not the two shown


def test_the_inbox_link_comes_with_the_count_when_public_url_is_set(store: Store, tmp_path: Path) -> None:
    seed(store)
    path = tmp_path / "listener.toml"
    path.write_text(CONFIG + '\n[serve]\npublic_url = "https://inbox.example.org"\n', encoding="utf-8")
    opts = DigestOptions.from_config(parse_config(path.read_text(encoding="utf-8"), path))
    assert opts.inbox_url == "https://inbox.example.org"
    rendered = render(build_digest(store, opts, DAY))
    assert (
        "5 stories need an answer from you.\nAnswer them from the inbox: https://inbox.example.org\n"
        in rendered.text
    )
    page = HtmlView.of(rendered.html)
    assert "https://inbox.example.org" in page.hrefs and page.text.count("5 stories need an answer") == 1
    plain = render(build_digest(store, options(config(tmp_path)), DAY))
    assert "inbox" not in plain.text.lower()  # no public_url: no link to nowhere


def test_the_reasons_speak_the_readers_language() -> None:
    assert [reason(r, "it") for r in ("negative", "unanswered", "customer", "3 networks", "1,240 interactions",
                                      "1 views", "troll: do not feed", "escalated", "answered")] == [
        "negativa", "senza risposta", "cliente: rispondi", "3 reti", "1.240 interazioni", "1 visualizzazione",
        "troll: non alimentarlo", "segnalata", "già risposto dai tuoi account"]  # fmt: skip
    assert [reason(r, "en") for r in ("customer", "1 interactions", "2 networks")] == [
        "customer: answer", "1 interaction", "2 networks"]  # fmt: skip


def test_a_network_that_collects_feeds_only_is_not_reported_idle(store: Store) -> None:
    """Facebook has no search: its runs are its Page's feeds (``posts:@page``), never a watch's.
    The demo's digest said "no collection run" beside 27 Facebook mentions of the day."""
    from listener.model import SaveResult

    store.sync_watches([("brand", "aurora")])
    for hour in (2, 8):
        run = store.start_run("facebook", "posts:@104", START + timedelta(hours=hour))
        store.finish_run(run, SaveResult(new=1), 1, now=START + timedelta(hours=hour, minutes=1))
    run = store.start_run("x", "brand", START + timedelta(hours=3))
    store.finish_run(
        run,
        SaveResult(new=1),
        1,
        error="auth",
        error_message="x: token refused",
        now=START + timedelta(hours=3),
    )
    opts = DigestOptions(
        timezone="Europe/Rome", sources=(("x", "brand"), ("facebook", "brand"), ("rss", "brand"))
    )
    health = {h.network: (h.status, h.runs) for h in build_digest(store, opts, DAY).health}
    assert health == {"facebook": ("ok", 2), "x": ("failed", 1), "rss": ("idle", 0)}
