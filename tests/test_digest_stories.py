"""The digest's one list of stories to answer first: triage state, the inbox link, reasons in Italian."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from listener.config import parse_config
from listener.digest.build import DigestOptions, build_digest
from listener.digest.render import render
from listener.digest.words import reason
from storage import Store
from storage.pg.store import PgStore
from tests.backends import Backend
from tests.htmlview import HtmlView
from tests.test_digest import CONFIG, DAY, START, config, options, save, seed, x


def ids(store: Store | PgStore, *native: str) -> list[int]:
    listed = ", ".join(f"'{n}'" for n in native)  # the tests' own plain ids
    return [
        row[0]
        for row in store.conn.execute(f"SELECT id FROM mentions WHERE native_id IN ({listed})").fetchall()
    ]


HOSTILE_NOTE = 'refunded; he wrote "<script>alert(1)</script><img src=x onerror=alert(2)>" & more'


def sections(text: str, *titles: str) -> list[str]:
    """The plain text cut at each ``title:`` line, in order: the part under each."""
    cuts = [text.index(f"\n{t}:\n") for t in titles]
    return [text[a:b] for a, b in zip(cuts, [*cuts[1:], len(text)], strict=True)]


def test_handled_and_ignored_stories_leave_the_list_escalated_ones_stay(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.store
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
    first, dealt = sections(text, "A cosa rispondere prima", "Già trattate nella inbox")
    assert "carla" not in first and "piero" not in first
    assert "x · carla" in dealt and "reddit · piero" in dealt and "ignorata" in dealt  # listed once, below
    store.triage.set(ids(store, "102"), None)  # reopened: back in the list
    assert "102" in [
        r.story.lead.native_id for r in build_digest(store, options(config(tmp_path)), DAY).stories
    ]


def test_stories_dealt_with_in_the_inbox_are_listed_with_their_state_and_note(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.store
    seed(store)
    store.triage.set(ids(store, "200"), "escalated", "legal must see this", now=START + timedelta(hours=20))
    store.triage.set(ids(store, "102"), "handled", HOSTILE_NOTE, now=START + timedelta(hours=21))
    d = build_digest(store, options(config(tmp_path)), DAY)
    assert [s.lead.native_id for s in d.dealt.stories] == ["102", "200"] and d.dealt.count == 2
    rendered = render(d)
    first, dealt, _ = sections(rendered.text, "A cosa rispondere prima", "Già trattate nella inbox",
                               "Allerte del giorno")  # fmt: skip
    assert "orribile" not in first and "aurora truffa" in first  # escalated: still on top
    assert "Storie del giorno segnate nella inbox: 2," in dealt
    assert f"- x · carla · 09:00\n  gestita: {HOSTILE_NOTE}\n  aurora servizio orribile\n" in dealt
    assert "Apri il post: https://x.com/carla/status/102" in dealt
    assert "segnalata: legal must see this" in dealt
    page = HtmlView.of(rendered.html)
    assert "script" not in page.tags and "onerror" not in page.attributes
    assert "<script>" not in rendered.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert f"gestita: {HOSTILE_NOTE}" in page.text
    assert page.text.index("Già trattate nella inbox") < page.text.index("aurora servizio orribile")
    english = render(build_digest(store, options(config(tmp_path, "en")), DAY)).text
    assert "Dealt with in the inbox:\n" in english and f"handled: {HOSTILE_NOTE}" in english

    store.triage.set(ids(store, "102"), None)  # reopened: back to answer, no longer dealt with
    store.triage.set(ids(store, "200"), None)
    d = build_digest(store, options(config(tmp_path)), DAY)
    assert d.dealt.count == 0 and "102" in [r.story.lead.native_id for r in d.stories]
    text = render(d).text
    assert "Già trattate nella inbox" not in text and "orribile" in text


def test_a_story_marked_in_the_inbox_is_listed_however_little_engaged(
    backend: Backend, tmp_path: Path
) -> None:
    """A busy day's stories are read by engagement, a bounded walk: a quiet complaint handled from a
    search would fall outside it. The marked ones are found from ``triage`` instead."""
    store = backend.store
    seed(store)
    at = START + timedelta(hours=12)
    busy = [x(f"7{i:03d}", f"aurora disastro {i} " + "abcdefghij"[i % 10] * (i % 7 + 1), at, f"user{i}",
              like_count=100 + i) for i in range(120)]  # fmt: skip
    quiet = x("7999", "aurora un caffè tiepido", at, "quiet")
    save(store, [*busy, quiet], {f"x/{m.native_id}": "negative" for m in [*busy, quiet]})
    store.triage.set(ids(store, "7999"), "handled", "offered a new one", now=START + timedelta(hours=22))
    opts = options(config(tmp_path))
    read = store.stories.stories(
        START, START + timedelta(days=1), opts.own_accounts, limit=50, include_done=True
    )
    assert "7999" not in [s.lead.native_id for s in read]  # not among the most engaged
    d = build_digest(store, opts, DAY)
    assert [s.lead.native_id for s in d.dealt.stories] == ["7999"] and d.dealt.count == 1
    assert "gestita: offered a new one\n  aurora un caffè tiepido" in render(d).text


def test_the_list_is_as_long_as_the_settings_say_and_the_count_stays_whole(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.store
    seed(store)
    d = build_digest(store, options(config(tmp_path), stories=2), DAY)
    assert [r.story.lead.native_id for r in d.stories] == ["102", "t1_def"]
    assert d.to_answer == 5  # counted over the stories read, not the two shown


def test_the_inbox_link_comes_with_the_count_when_public_url_is_set(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    path = tmp_path / "listener.toml"
    path.write_text(CONFIG + '\n[serve]\npublic_url = "https://inbox.example.org"\n', encoding="utf-8")
    opts = DigestOptions.from_config(parse_config(path.read_text(encoding="utf-8"), path))
    assert opts.inbox_url == "https://inbox.example.org"
    digest = build_digest(store, opts, DAY)
    rendered = render(digest)
    assert (
        "5 stories need an answer from you.\nAnswer them from the inbox: https://inbox.example.org\n"
        in rendered.text
    )
    page = HtmlView.of(rendered.html)
    assert "https://inbox.example.org" in page.hrefs and page.text.count("5 stories need an answer") == 1
    # each story links to its own card in the inbox (listener serve's id="story-KEY"), to mark it there
    cards = [f"https://inbox.example.org/-/inbox#story-{r.story.key}" for r in digest.stories]
    assert cards and set(cards) <= set(page.hrefs)
    assert f"Mark it in the inbox: {cards[0]}" in rendered.text
    plain = render(build_digest(store, options(config(tmp_path)), DAY))
    assert "inbox" not in plain.text.lower()  # no public_url: no link to nowhere


def test_the_reasons_speak_the_readers_language() -> None:
    assert [reason(r, "it") for r in ("negative", "unanswered", "customer", "3 networks", "1,240 interactions",
                                      "1 views", "troll: do not feed", "escalated", "answered")] == [
        "negativa", "senza risposta", "cliente: rispondi", "3 reti", "1.240 interazioni", "1 visualizzazione",
        "troll: non alimentarlo", "segnalata", "già risposto dai tuoi account"]  # fmt: skip
    assert [reason(r, "en") for r in ("customer", "1 interactions", "2 networks")] == [
        "customer: answer", "1 interaction", "2 networks"]  # fmt: skip


def test_a_network_that_collects_feeds_only_is_not_reported_idle(backend: Backend) -> None:
    """Facebook has no search: its runs are its Page's feeds (``posts:@page``), never a watch's.
    The demo's digest said "no collection run" beside 27 Facebook mentions of the day."""
    store = backend.store
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


def test_a_config_with_the_digest_keys_before_stories_still_loads(tmp_path: Path) -> None:
    old = "[digest]\ntop_mentions = 7\nunanswered = 30\ntroll_min_negative = 4\nrepeat_authors = 2\n"
    config = parse_config(old, tmp_path / "listener.toml")
    assert (config.digest.stories, config.digest.trolls) == (7, 2)
    both = parse_config("[digest]\ntop_mentions = 7\nstories = 3\n", tmp_path / "listener.toml")
    assert both.digest.stories == 3
