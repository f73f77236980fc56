"""The daily digest, sent through a real SMTP server and read back with ``email``."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from listener.alerts.message import chat_safe
from listener.charts import NEGATIVE, ChartLabels, daily_chart
from listener.cli import App
from listener.cli.digest import digest
from listener.config import Config, parse_config
from listener.digest.build import (
    DigestOptions,
    DigestSettings,
    build_digest,
    day_bounds,
    due_day,
    needs_answer,
)
from listener.digest.render import render
from listener.digest.send import recipients_key, send_digest
from listener.mail import EmailSettings
from listener.model import Mention, Page, SaveResult
from listener.records import AlertChange
from storage import Store
from tests.backends import Backend
from tests.htmlview import HtmlView
from tests.servers import smtp_server

DAY = date(2026, 11, 20)  # a Friday; in Rome it runs 2026-11-19T23:00Z to 2026-11-20T23:00Z
START = datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 6, 30, tzinfo=UTC)
TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "body",
    "table",
    "tr",
    "td",
    "th",
    "p",
    "b",
    "br",
    "a",
    "img",
    "span",
}
ATTRIBUTES = {"charset", "role", "width", "height", "cellpadding", "cellspacing", "align", "style",
              "src", "alt", "href", "lang", "name", "content"}  # fmt: skip


CONFIG = """
[database]
path = "listener.db"

[[watches]]
name = "brand"
query = "aurora"

[[watches]]
name = "complaints"
query = "aurora rimborso"

[networks.x]
accounts = ["@Aurora_Official"]

[networks.reddit]
username = "aurora_it"
password_env = "REDDIT_PASSWORD"

[alerts]
timezone = "Europe/Rome"
"""


def config(tmp_path: Path, language: str = "it") -> Config:
    path = tmp_path / "listener.toml"
    path.write_text(CONFIG + f'\n[email]\nhost = "127.0.0.1"\nsender = "listener@test"\n'
                    f'recipients = ["Social@test", "boss@test"]\nlanguage = "{language}"\n', encoding="utf-8")  # fmt: skip
    return parse_config(path.read_text(encoding="utf-8"), path)


def email(port: int, language: str = "it") -> EmailSettings:
    return EmailSettings(host="127.0.0.1", port=port, security="none", sender="listener@test",
                         recipients=["Social@test", "boss@test"], language=language)  # type: ignore[arg-type]  # fmt: skip


def save(
    store: Any, mentions: list[Mention], labels: dict[str, str], watches: tuple[str, ...] = ("brand",)
) -> None:
    for network in sorted({m.network for m in mentions}):
        mine = [m for m in mentions if m.network == network]
        store.save_page(Page(network, "brand", mine, matches={m.native_id: list(watches) for m in mine}))
    ids = dict(store.conn.execute("SELECT network || '/' || native_id, id FROM mentions"))
    store.set_sentiment([(ids[key], label, 0.9, "test", None) for key, label in labels.items()])


def x(native_id: str, text: str, at: datetime, author: str = "someone", **extra: Any) -> Mention:
    return Mention("x", native_id, text, at, author_handle=author,
                   url=f"https://x.com/{author}/status/{native_id}", **extra)  # fmt: skip


def seed(store: Any) -> None:
    """A week of history, then a day with answered and unanswered complaints, a troll and an alert."""
    store.sync_watches([("brand", "aurora"), ("complaints", "aurora rimborso")])
    history, labels = [], {}
    for day in range(1, 8):  # 10 mentions a day, 1 negative, the seven days before DAY
        for i in range(10):
            m = x(f"{day}{i:03d}", "aurora ok", START - timedelta(days=day) + timedelta(hours=i))
            history.append(m)
            labels[f"x/{m.native_id}"] = "negative" if i == 0 else "neutral"
    at = START + timedelta(hours=9)
    today = [
        # 00:30 in Rome, 23:30 UTC the day before: it belongs to DAY.
        x("500", "aurora di notte", START + timedelta(minutes=30), like_count=1),
        x("100", "aurora rimborso mai arrivato", at, "luca", like_count=50),  # answered by a reply
        x("900", "@luca ci scusi, le scriviamo in privato", at + timedelta(hours=1), "Aurora_Official",
          in_reply_to_id="100", like_count=500),
        x("101", "aurora pessimo", at, "anna", conversation_id="101", like_count=40),  # answered in the thread
        x("901", "grazie a tutti", at + timedelta(hours=2), "aurora_official", conversation_id="101"),
        x("102", "aurora servizio orribile", at, "carla", like_count=30),  # a stranger replied: still owed
        x("103", "risposta di un altro", at + timedelta(hours=1), "dario", in_reply_to_id="102"),
        *(x(f"20{i}", f"aurora truffa {i}", at + timedelta(minutes=i), "grumpy") for i in range(3)),
    ]  # fmt: skip
    reddit = [
        Mention("reddit", "t1_abc", "aurora rimborso negato", at, author_handle="rosa",
                url="https://www.reddit.com/r/it/comments/xyz/_/abc/", conversation_id="t3_xyz", like_count=20),
        Mention("reddit", "t1_own", "Ci dispiace, scrivici", at + timedelta(hours=1), author_handle="Aurora_IT",
                in_reply_to_id="t1_abc", conversation_id="t3_xyz"),
        Mention("reddit", "t1_def", "aurora mai più", at, author_handle="piero",
                url="https://www.reddit.com/r/it/comments/qqq/_/def/", conversation_id="t3_qqq", like_count=10),
        # our comment came before the complaint: it answers nothing
        Mention("reddit", "t1_early", "Benvenuti", at - timedelta(hours=1), author_handle="aurora_it",
                conversation_id="t3_qqq"),
    ]  # fmt: skip
    negative = ["100", "101", "102", "200", "201", "202"]
    labels |= {f"x/{m.native_id}": "negative" if m.native_id in negative else "neutral" for m in today}
    labels |= {"reddit/t1_abc": "negative", "reddit/t1_def": "negative", "reddit/t1_own": "neutral",
               "reddit/t1_early": "positive"}  # fmt: skip
    save(store, history + today + reddit, labels)
    save(store, [x("100", "aurora rimborso mai arrivato", at, "luca", like_count=50)], {}, ("complaints",))
    store.alerts.record(AlertChange(
        watch="brand", network="", kind="negative", state="opened", severity="warning",
        started_at=at, at=at, observed=6, expected=1.0, summary="negative share 60% vs 10% expected",
        explanation={"terms": [{"term": "rimborso", "window": 3, "baseline": 0}],
                     "authors": [{"network": "x", "handle": "grumpy", "count": 3}],
                     "samples": [{"network": "x", "author": "luca", "text": "aurora rimborso mai arrivato",
                                  "url": "https://x.com/luca/status/100", "engagement": 50}]},
    ), ["email"])  # fmt: skip
    for network, error in (("x", None), ("reddit", "auth")):
        for hour in (2, 8, 14):
            run = store.start_run(network, "brand", START + timedelta(hours=hour))
            store.finish_run(run, SaveResult(new=1), 5, error=error,
                             error_message="reddit: login refused (401)" if error else None,
                             now=START + timedelta(hours=hour, minutes=1))  # fmt: skip


def options(cfg: Config, **settings: Any) -> DigestOptions:
    return DigestOptions.from_config(cfg, DigestSettings(**settings))


def parts(message: EmailMessage) -> tuple[str, str, bytes, str]:
    """(plain text, html, png, the png's Content-ID) of a digest read back from the wire."""
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()  # type: ignore[misc]
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert html.get_content_type() == "text/html" and image.get_content_type() == "image/png"
    return plain.get_content(), html.get_content(), image.get_content(), image["Content-ID"].strip("<>")


def png_pixels(data: bytes) -> tuple[int, int, set[str]]:
    """Width, height and the colours (as ``#rrggbb``) of a PNG."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    colours = {"#{:02x}{:02x}{:02x}".format(*c[:3]) for _, c in image.convert("RGB").getcolors(1 << 20) or []}
    return image.width, image.height, colours


def test_the_day_is_local_and_compared_with_yesterday_and_the_week(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    assert day_bounds(DAY, __import__("zoneinfo").ZoneInfo("Europe/Rome")) == (
        START,
        START + timedelta(days=1),
    )
    d = build_digest(store, options(config(tmp_path)), DAY)
    brand = {w.name: w for w in d.watches}["brand"]
    assert brand.volume == 14  # the 00:30 local mention included
    assert (brand.prev_volume, brand.mean_volume) == (10, 10.0)
    assert brand.prev_share == 0.1 and brand.share == pytest.approx(8 / 14)
    assert {w.name: w.volume for w in d.watches}["complaints"] == 1
    assert d.total.volume == 14  # distinct mentions: the one in two watches counts once
    assert [v for _, v, _ in d.chart] == [10] * 6 + [14] and d.chart[-1][0] == DAY


def test_days_before_a_watch_existed_are_not_in_its_mean(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora"), ("complaints", "aurora rimborso")])
    counts = {2: 4, 1: 6, 0: 20}  # days before DAY: a new watch, two days old
    mentions = [x(f"{back}{i:03d}", "aurora", START - timedelta(days=back) + timedelta(hours=1 + i % 20))
                for back, n in counts.items() for i in range(n)]  # fmt: skip
    save(store, mentions, {})
    d = build_digest(store, options(config(tmp_path)), DAY)
    brand = {w.name: w for w in d.watches}["brand"]
    assert (brand.volume, brand.prev_volume, brand.mean_volume) == (20, 6, 5.0)  # not (4 + 6) / 7
    assert d.total.mean_volume == 5.0


def test_stories_to_answer_first_and_the_troll_rule(backend: Backend, tmp_path: Path) -> None:
    """One list, ranked as the inbox ranks it; was two lists ("most engaged", "unanswered") of mentions."""
    store = backend.store
    seed(store)
    assert config(tmp_path).own_accounts() == (("x", "aurora_official"), ("reddit", "aurora_it"))
    d = build_digest(store, options(config(tmp_path)), DAY)
    shown = [r.story.lead.native_id for r in d.stories]
    assert [i for i, r in zip(shown, d.stories, strict=True) if needs_answer(r)] == [
        "102",
        "t1_def",
        "202",
        "201",
        "200",
    ]
    assert (d.to_answer, d.to_answer_more) == (5, False)
    assert {i for i, r in zip(shown, d.stories, strict=True) if r.story.answered} == {"100", "101", "t1_abc"}
    assert shown.index("t1_abc") > shown.index("200")  # answered ones come after the ones owed
    assert "900" not in shown and "t1_own" not in shown  # our own replies are not stories
    # Three negative posts on one day make a customer to answer (was: "possible troll");
    # the author negative on each of the seven days before is the troll.
    assert {r.author for r in d.stories if r.story.lead.author_handle == "grumpy"} == {"customer"}
    assert [(t.author.handle, t.history.negative_days) for t in d.trolls] == [("someone", 7)]


def test_source_health_names_the_failing_network(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    health = {h.network: h for h in build_digest(store, options(config(tmp_path)), DAY).health}
    assert (health["reddit"].status, health["reddit"].failed) == ("failed", 3)
    assert health["reddit"].last_error == "reddit: login refused (401)"
    assert health["x"].status == "ok"
    quiet = build_digest(
        store, options(config(tmp_path), quiet_share=0.9, quiet_min_mean=5), DAY + timedelta(days=1)
    )
    assert {h.network: h.status for h in quiet.health} == {"x": "idle", "reddit": "idle"}


def test_the_digest_arrives_in_italian_with_chart_and_owed_replies(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    with smtp_server() as (inbox, port):
        result = send_digest(store, options(config(tmp_path)), email(port), DAY, {}, now=NOW)
    assert result.sent
    [message] = inbox.messages
    assert message["Subject"].startswith(
        "[listener] Riepilogo giornaliero 2026-11-20: 14 menzioni (+40% sulla"
    )
    assert message["To"] == "Social@test, boss@test" and message["Message-ID"] == result.message_id
    text, html, png, cid = parts(message)
    assert f'src="cid:{cid}"' in html
    width, height, colours = png_pixels(png)
    assert (width, height) == (1200, 600) and NEGATIVE in colours
    page = HtmlView.of(html)
    assert "venerdì 20 novembre 2026" in page.text and "A cosa rispondere prima" in page.text
    assert text.count("5 storie aspettano una tua risposta.") == 1  # said once, on top
    assert "Troll: non alimentarli" in text and "x · someone: negativo in 7 giorni degli ultimi 30" in text
    assert "possibile troll" not in text and "grumpy · 09:00 · troll" not in text
    assert "tutte le raccolte sono fallite" in text and "reddit: login refused (401)" in text
    assert (
        "termini trainanti (post ora vs la settimana prima): rimborso (3 vs 0)" in text
        and "negative share 60% vs 10% expected" in text
    )
    owed = text.split("A cosa rispondere prima")[1].split("Allerte del giorno")[0]
    carla = owed.split("- x · carla · 09:00")[1].split("\n- ")[0]
    assert "negativa · senza risposta · cliente: rispondi · 30 interazioni" in carla
    assert "Rispondi: https://x.com/intent/post?in_reply_to=102" in carla
    assert "Apri il post: https://x.com/carla/status/102" in carla
    for url in (
        "https://x.com/intent/post?in_reply_to=102",
        "https://www.reddit.com/r/it/comments/qqq/_/def/",
    ):
        assert url in owed and url in page.hrefs
    luca = owed.split("- x · luca · 09:00")[1].split("\n- ")[0]
    assert (
        "negativa · già risposto dai tuoi account · 50 interazioni" in luca and "senza risposta" not in luca
    )
    piero = owed.split("- reddit · piero · 09:00")[1].split("\n- ")[0]
    assert "Rispondi: https://www.reddit.com/r/it/comments/qqq/_/def/" in piero and "Apri" not in piero


def test_the_digest_speaks_english_from_the_config(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    with smtp_server() as (inbox, port):
        send_digest(store, options(config(tmp_path, "en")), email(port, "en"), DAY, {}, now=NOW)
    [message] = inbox.messages
    assert message["Subject"] == (
        "[listener] Daily digest 2026-11-20: 14 mentions (+40% vs 7-day mean), 57% negative"
    )
    text, html, _, _ = parts(message)
    assert "Friday 20 November 2026" in text and "Answer first" in text
    assert "5 stories need an answer from you." in text and "customer: answer · 30 interactions" in text
    assert "Trolls: do not feed them" in HtmlView.of(html).text
    assert "menzioni" not in text


def test_sending_twice_sends_once_unless_forced(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    opts = options(config(tmp_path))
    with smtp_server() as (inbox, port):
        first = send_digest(store, opts, email(port), DAY, {}, now=NOW)
        second = send_digest(store, opts, email(port), DAY, {}, now=NOW + timedelta(minutes=5))
        assert len(inbox.messages) == 1 and not second.sent
        assert second.previous is not None and second.previous.message_id == first.message_id
        other_day = send_digest(store, opts, email(port), DAY - timedelta(days=1), {}, now=NOW)
        forced = send_digest(store, opts, email(port), DAY, {}, force=True, now=NOW + timedelta(hours=1))
    assert other_day.sent and forced.sent and len(inbox.messages) == 3
    rows = backend.rows("SELECT day, recipients, message_id FROM digests ORDER BY day")
    assert rows == [("2026-11-19", "boss@test,social@test", other_day.message_id),
                    ("2026-11-20", "boss@test,social@test", forced.message_id)]  # fmt: skip
    assert recipients_key(["boss@test", "SOCIAL@test "]) == "boss@test,social@test"


def test_every_hostile_line_arrives_inert(backend: Backend, tmp_path: Path, shared_dir: Path) -> None:
    store = backend.store
    lines = (shared_dir / "data/hostile/blns.txt").read_text(encoding="utf-8").split("\n")
    hostile = [line for line in lines if line.strip() and not line.startswith("#")]
    store.sync_watches([("brand", "aurora")])
    at = START + timedelta(hours=1)
    mentions = [x(str(1000 + i), line, at + timedelta(seconds=i), author=line[:40], like_count=i)
                for i, line in enumerate(hostile)]  # fmt: skip
    save(store, mentions, {f"x/{1000 + i}": "negative" for i in range(len(hostile))})
    store.alerts.record(AlertChange(
        watch="brand", network="", kind="volume", state="opened", severity="critical", started_at=at, at=at,
        observed=500, expected=1, summary=hostile[0],
        explanation={"terms": [{"term": t} for t in hostile[:50]], "samples": [{"text": hostile[1], "url": "javascript:alert(1)"}]},
    ), [])  # fmt: skip
    opts = options(config(tmp_path), stories=1000, trolls=100)
    with smtp_server() as (inbox, port):
        send_digest(store, opts, email(port), DAY, {}, now=NOW)
    text, html, _, _ = parts(inbox.messages[0])
    page = HtmlView.of(html)
    assert page.tags <= TAGS and page.attributes <= ATTRIBUTES
    assert page.hrefs <= {m.url for m in mentions} | {
        f"https://x.com/intent/post?in_reply_to={m.native_id}" for m in mentions
    }
    for line in hostile:
        assert chat_safe(line) in page.text, line
        assert chat_safe(line) in text, line
    assert "\x1b" not in text and "\u202e" not in text


def test_the_chart_is_the_week_drawn_with_real_text_at_twice_its_shown_width(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.store
    seed(store)
    d = build_digest(store, options(config(tmp_path)), DAY)
    rendered = render(d)
    days, mentions, negative = zip(*d.chart, strict=True)
    assert rendered.chart == daily_chart(days, mentions, negative, ChartLabels.of("it"), 1200, mean=10.0)
    assert 'width="600" height="300"' in rendered.html and "width:100%;max-width:600px" in rendered.html
    empty = build_digest(store, options(config(tmp_path)), DAY + timedelta(days=30))
    assert png_pixels(render(empty).chart)[:2] == (1200, 600)  # an empty week still draws


def test_cli_previews_prints_and_sends(store: Store, tmp_path: Path) -> None:
    """A SQLite file given as ``--db``; the command on a PostgreSQL config is in tests/test_cli_postgres.py."""
    seed(store)
    store.close()
    cfg = config(tmp_path)
    with smtp_server() as (inbox, port):
        cfg.path.write_text(cfg.path.read_text(encoding="utf-8").replace('host = "127.0.0.1"',
                            f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"'), encoding="utf-8")  # fmt: skip
        app = App(str(cfg.path), str(tmp_path / "listener.db"))
        run = CliRunner().invoke
        preview = tmp_path / "digest.html"
        shown = run(
            digest, ["--date", "2026-11-20", "--preview", str(preview)], obj=app, catch_exceptions=False
        )
        assert shown.exit_code == 0 and "data:image/png;base64," in preview.read_text(encoding="utf-8")
        printed = run(digest, ["--date", "2026-11-20"], obj=app, catch_exceptions=False)
        assert "Riepilogo giornaliero · venerdì 20 novembre 2026" in printed.output
        for _ in range(2):
            sent = run(digest, ["--date", "2026-11-20", "--send"], obj=app, catch_exceptions=False)
            assert sent.exit_code == 0
        assert "not sent again (pass --force to resend)" in sent.output
        assert len(inbox.messages) == 1
    bad = run(digest, ["--date", "20/11"], obj=app)
    assert bad.exit_code == 2 and "use a date like 2026-11-20" in bad.output
    assert "Example" in run(digest, ["--help"]).output


def test_rendering_needs_no_network_section(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    rendered = render(build_digest(store, DigestOptions(language="en"), DAY))
    assert "No alert today." in rendered.text and "No story needs an answer from you." in rendered.text


def test_the_digest_is_due_after_its_local_time() -> None:
    opts = DigestOptions(timezone="Europe/Rome", settings=DigestSettings(time="07:30"))
    assert due_day(opts, datetime(2026, 11, 21, 6, 29, tzinfo=UTC)) is None  # 07:29 in Rome
    assert due_day(opts, datetime(2026, 11, 21, 6, 30, tzinfo=UTC)) == DAY
    with pytest.raises(ValueError, match="not a time like '07:30'"):
        DigestSettings(time="7.30")
    with pytest.raises(ValueError, match="unknown time zone"):
        DigestSettings(timezone="Rome")


def test_an_abandoned_open_alert_is_not_repeated(backend: Backend, tmp_path: Path) -> None:
    store = backend.store
    seed(store)
    old = START - timedelta(days=3)
    store.alerts.record(AlertChange(
        watch="gone", network="", kind="volume", state="opened", severity="warning", started_at=old, at=old,
        observed=9, expected=1, summary="an old incident", explanation={},
    ), [])  # fmt: skip
    d = build_digest(store, options(config(tmp_path)), DAY)
    assert [a.summary for a in d.alerts] == ["negative share 60% vs 10% expected"]


def test_a_day_of_many_alerts_lists_the_worst_twenty(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora")])
    for i in range(25):
        at = START + timedelta(minutes=10 * i)
        store.alerts.record(AlertChange(
            watch="brand", network="", kind="volume", state="opened", severity="critical" if i == 24 else "info",
            started_at=at, at=at, observed=9, expected=1, summary=f"incident {i}", explanation={},
        ), [])  # fmt: skip
    text = render(build_digest(store, DigestOptions("Europe/Rome", "en"), DAY)).text
    assert text.index("incident 24") < text.index("incident 0") and "incident 19" not in text
    assert "…and 5 more: see 'listener alerts'." in text


def test_copies_of_a_story_show_once_with_their_spread_and_the_trolls_get_a_section(
    backend: Backend, tmp_path: Path
) -> None:
    store = backend.store
    from listener.clusters import assign_clusters

    seed(store)
    store.authors.set_own_accounts(config(tmp_path).own_accounts())
    at = START + timedelta(hours=12)
    story = "Aurora rimborso negato dopo tre settimane di attesa, il servizio clienti non risponde <b>mai</b>"
    copies = [
        x("300", story, at, "ugo", like_count=90),
        Mention("reddit", "t1_cp1", f"{story} #aurora", at + timedelta(minutes=5), author_handle="eva",
                like_count=80),
        Mention("mastodon", "cp2", f"RT @ugo: {story}", at + timedelta(minutes=9), author_handle="ivo",
                like_count=70),
    ]  # fmt: skip
    save(store, copies, {"x/300": "negative", "reddit/t1_cp1": "negative", "mastodon/cp2": "negative"})
    assign_clusters(store)
    for language, spread, heading, line in (
        ("it", "+2 copie su mastodon, reddit", "Troll: non alimentarli", "x · someone: negativo in 7 giorni"),
        (
            "en",
            "+2 copies on mastodon, reddit",
            "Trolls: do not feed them",
            "x · someone: negative on 7 days",
        ),
    ):
        d = build_digest(store, options(config(tmp_path, language)), DAY)
        leads = [r.story.lead.native_id for r in d.stories]
        assert leads[0] == "300" and not {"t1_cp1", "cp2"} & set(leads)  # one story, its most engaged first
        assert d.stories[0].story.members == 3 and d.to_answer == 6
        # "someone" was negative on each of the seven days before; grumpy's three are one day
        assert [t.author.handle for t in d.trolls] == ["someone"]
        rendered = render(d)
        assert rendered.text.count(story[:40]) == 1  # one list now (was: among the top and the owed replies)
        assert spread in rendered.text and spread in HtmlView.of(rendered.html).text
        assert heading in rendered.text and line in rendered.text and "grumpy:" not in rendered.text
        assert "<b>mai</b>" not in rendered.html and "&lt;b&gt;mai&lt;/b&gt;" in rendered.html
