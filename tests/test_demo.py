"""The offline demo end to end: ``python -m listener.demo`` into a temp folder, then its results checked.

One subprocess run (the demo itself starts the daemon as a process of its own and
sends it SIGTERM), shared by the tests below and the browser tests through a session fixture.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from listener.demo.mailbox import is_digest, saved_messages
from listener.stories import TrollRule, author_kind
from storage import Store
from tests.htmlview import HtmlView
from tests.material import Demo

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    returncode: int
    stdout: str
    stderr: str

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"{(self.folder / 'demo.db').as_uri()}?mode=ro", uri=True) as conn:
            return conn.execute(sql).fetchall()

    def mail(self) -> list[EmailMessage]:
        return saved_messages(self.folder / "mail")


@pytest.fixture(scope="module")
def run(demo: Demo) -> DemoRun:
    """The session's demo run (tests/conftest.py), shared with the browser tests."""
    return DemoRun(demo.folder, demo.returncode, demo.stdout, demo.stderr)


def test_exits_cleanly_with_the_daemon_stopped_at_the_end_of_the_story(run: DemoRun) -> None:
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert "Traceback" not in (run.folder / "daemon.log").read_text(encoding="utf-8")
    assert "the daemon stopped with status 0" in run.stdout
    assert "Demo finished" in run.stdout


def test_mentions_from_every_network_all_scored(run: DemoRun) -> None:
    counts: dict[str, int] = dict(run.query("SELECT network, count(*) FROM mentions GROUP BY network"))
    assert set(counts) == {"x", "reddit", "mastodon", "bluesky", "hackernews", "rss", "youtube", "facebook",
                           "instagram"}, counts  # fmt: skip
    assert counts["x"] > 200 and counts["reddit"] > 50
    (unscored,) = run.query("SELECT count(*) FROM mentions WHERE sentiment_label IS NULL")[0]
    assert unscored == 0
    assert re.search(r"Mentions from 9 networks", run.stdout)


def test_volume_and_negative_alerts_with_their_drivers(run: DemoRun) -> None:
    rows = run.query("SELECT kind, watch, explanation FROM alerts WHERE kind IN ('volume', 'negative')")
    explained = {kind for kind, _, e in rows if json.loads(e).get("terms") and json.loads(e).get("samples")}
    assert explained == {"volume", "negative"}, rows
    brand = [json.loads(e) for _, w, e in rows if w == "brand"]
    assert "#auroradown" in {t["tag"] for why in brand for t in why.get("hashtags", [])}
    assert re.search(r"critical negative on 'brand'.*\n\s+driven by #auroradown", run.stdout)


def test_the_hijacked_looking_night_posts_raise_one_own_account_alert(run: DemoRun) -> None:
    [(severity, watch, started, explanation)] = run.query(
        "SELECT severity, watch, started_at, explanation FROM alerts WHERE kind = 'own-account'"
    )
    why = json.loads(explanation)
    assert (severity, watch) == ("critical", "@caffe_aurora")
    assert {"off-hours", "new-domain"} <= set(why["signals"])
    assert datetime.fromisoformat(started).astimezone(ZoneInfo("Europe/Rome")).strftime("%H:%M") == "03:10"
    [mail] = [m for m in run.mail() if "@caffe_aurora" in str(m["Subject"])]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and "Why it looks wrong:" in body.get_content()
    assert "aurora-giveaway.example" in body.get_content()


def test_alert_and_digest_emails_saved_as_eml_and_html(run: DemoRun) -> None:
    mail = run.mail()
    alerts = [m for m in mail if not is_digest(m)]
    digests = [m for m in mail if is_digest(m)]
    assert alerts and digests
    for message in mail:
        assert message["To"] == "social@caffeaurora.example"
        assert str(message["Subject"]).startswith("[listener] ")
    crisis_day = (datetime.now(ZoneInfo("Europe/Rome")).date() - timedelta(days=2)).isoformat()
    assert any(f"Daily digest {crisis_day}" in str(m["Subject"]) for m in digests), [
        m["Subject"] for m in digests
    ]
    previews = sorted((run.folder / "mail").glob("*.html"))
    assert len(previews) == len(mail)
    digest_preview = [p for p in previews if crisis_day in p.name][-1].read_text(encoding="utf-8")
    assert "data:image/png;base64," in digest_preview and "gianni_brontolo" in digest_preview


def test_the_report_shows_sql_answers_and_the_troll(run: DemoRun) -> None:
    assert run.stdout.count("$ listener sql ") == 3
    assert "aurora-giveaway.example" in run.stdout.split("What the official account posted at night")[1]
    authors = run.stdout.split("$ listener authors --negative")[1].split("==")[0]
    assert "gianni_brontolo" in authors


def test_no_source_is_reported_quiet_and_no_run_is_skipped(run: DemoRun) -> None:
    assert run.query("SELECT kind, network, watch FROM alerts WHERE kind LIKE 'health:%'") == []
    log = (run.folder / "daemon.log").read_text(encoding="utf-8")
    assert "skipped" not in log
    steps = re.findall(r"^\s+\w{3} \d\d:\d\d\s+\d+ posts on the servers so far$", run.stdout, re.M)
    assert len(steps) >= 8  # one line every three hours of the story's day and night
    assert re.search(r"\(the story reached \w{3} 09:00; the daemon stopped with status 0\)", run.stdout)


def test_the_inbox_shows_customers_to_answer_first_and_the_troll_last(run: DemoRun) -> None:
    inbox = run.stdout.split("== The inbox: what to answer first")[1].split("What happened")[0]
    table = inbox.split("Do not feed:")[0]
    assert "customer: answer" in table and "troll" not in table
    for customer in ("marta_l", "ordini_falliti", "fede_92"):
        assert f"{customer}\n     troll" not in inbox
    assert re.search(r"Do not feed: gianni_brontolo, negative on many days \(ranked down to #\d+", inbox)
    assert f"listener --config {run.folder / 'listener.toml'} serve" in inbox


def test_the_troll_is_a_troll_and_the_double_charged_customers_are_customers(run: DemoRun) -> None:
    """#21's acceptance: negative on five different days is a troll; negative many times, all on
    the crisis day, is a customer to answer, on every network they complained on."""
    rule = TrollRule()
    customers = ("marta_l", "ordini_falliti", "fede_92")
    with Store.open(run.folder / "demo.db", create=False) as store:
        (latest,) = store.conn.execute("SELECT max(created_at) FROM mentions").fetchone()
        keys = [("x", "gianni_brontolo")] + [
            (network, handle)
            for network, handle in store.conn.execute("SELECT DISTINCT network, author_handle FROM mentions")
            if handle in customers
        ]
        since = datetime.fromisoformat(latest) - timedelta(days=rule.window_days)
        history = store.stories.author_history(keys, since, "Europe/Rome")
    assert set(history) == set(keys) and {"x", "reddit"} <= {network for network, _ in keys[1:]}
    troll = history[("x", "gianni_brontolo")]
    assert troll.negative_days == 5 and author_kind(troll, rule) == "troll"
    for key in keys[1:]:
        assert history[key].negative_days == 1, (key, history[key])
        assert author_kind(history[key], rule) == "customer", key
    assert max(history[("x", handle)].negative for handle in customers) >= 6  # many posts, one day


def crisis_digest(run: DemoRun) -> tuple[str, str]:
    """The plain text and the HTML of the crisis day's digest."""
    crisis_day = (datetime.now(ZoneInfo("Europe/Rome")).date() - timedelta(days=2)).isoformat()
    [digest] = [m for m in run.mail() if is_digest(m) and f"Daily digest {crisis_day}" in str(m["Subject"])][
        -1:
    ]
    plain, html = digest.get_body(("plain",)), digest.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content().replace("\r\n", "\n"), html.get_content()


def test_the_digest_tags_the_troll_and_not_the_double_charged_customers(run: DemoRun) -> None:
    """Was: marta_l, ordini_falliti and fede_92 tagged "possible troll", gianni_brontolo nowhere."""
    text, html = crisis_digest(run)
    trolls = text.split("Trolls: do not feed them:")[1].split("\n\n")[0]
    assert re.search(r"^- x · gianni_brontolo: negative on [3-9] days of the last 30", trolls, re.M), trolls
    # with a link to what they wrote, though none of their posts is among the stories shown
    assert re.search(r"^- x · gianni_brontolo: .* https://x\.com/gianni_brontolo/status/\d+$", trolls, re.M)
    stories = text.split("Answer first:")[1].split("Alerts of the day:")[0]
    for customer in ("marta_l", "ordini_falliti", "fede_92"):
        assert customer not in trolls
        assert not re.search(rf"{customer}[^\n]*troll", text), customer
        assert re.search(
            rf"^- x · {customer} · \d\d:\d\d\n  negative( · [\d,]+ negative posts)? · unanswered · customer: answer",
            stories,
            re.M,
        )
    assert "possible troll" not in text and "gianni_brontolo" in HtmlView.of(html).text


def test_the_digest_lists_each_story_once_with_its_reply_link(run: DemoRun) -> None:
    """Was: two lists repeating the same five posts, and 88-167 "unanswered" mentions."""
    text, html = crisis_digest(run)
    stories = text.split("Answer first:")[1].split("Alerts of the day:")[0]
    heads = re.findall(r"^- (\w+ · \S+ · \d\d:\d\d)", stories, re.M)
    assert len(heads) == 5 == len(set(heads))  # [digest] stories = 5 in the demo's config
    assert stories.count("Reply: https://x.com/intent/post?in_reply_to=") >= 4
    assert len(re.findall(r"stories need an answer from you\.", text)) == 1  # the total, said once
    assert "Most engaged mentions" not in text and "without a reply" not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_alerts_speak_local_time_and_end_with_the_next_step(run: DemoRun) -> None:
    """Was: ``since 2026-12-04T09:40:00+00:00`` with timezone Europe/Rome, a bare "(0)", no next step."""
    for mail in (m for m in run.mail() if not is_digest(m)):
        body = mail.get_body(("plain",))
        assert body is not None
        text = body.get_content().replace("\r\n", "\n")
        assert "+00:00" not in text and "(Europe/Rome)" in text
        assert re.search(r"listener alerts ack \d+", text) or " resolved:" in str(mail["Subject"])
        assert not re.search(r"\(\d+\)", text.split("Most engaged posts:")[-1])  # no bare "(0)"
    [own] = [m for m in run.mail() if "@caffe_aurora" in str(m["Subject"])]
    own_body = own.get_body(("plain",))
    assert own_body is not None and "Change the account's password" in own_body.get_content()
