"""What an alert says to a person: local times, numbers with their name, and the next step."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from listener.alerts.channels import AppriseChannel, EmailChannel
from listener.alerts.deliver import deliver_pending
from listener.alerts.message import build_message
from listener.alerts.next_step import HIJACK
from listener.mail import EmailSettings
from listener.model import Mention, Page
from listener.records import AlertChange
from storage.rows import AlertRow
from tests.backends import Backend
from tests.htmlview import HtmlView
from tests.servers import http_endpoint, smtp_server

STARTED = "2026-12-04T09:40:00+00:00"


def sample(engagement: Any, text: str = "Il rimborso non arriva", **extra: Any) -> dict[str, Any]:
    return {"network": "x", "author": "mario", "text": text, "url": "https://x.com/mario/status/1",
            "engagement": engagement, "created_at": "2026-12-04T09:52:00+00:00", **extra}  # fmt: skip


def alert(kind: str = "negative", samples: list[dict[str, Any]] | None = None, **extra: Any) -> AlertRow:
    fields: dict[str, Any] = {
        "id": 12, "watch": "brand", "network": "", "kind": kind, "severity": "warning", "state": "open",
        "started_at": STARTED, "updated_at": STARTED, "resolved_at": None, "acknowledged_at": None,
        "observed": 14, "expected": 2.5, "summary": "negative share 41% vs 9% expected",
        "explanation": {"what": {"share": 0.41, "expected_share": 0.09}, "reasons": ["posted at 03:10"],
                        "samples": samples if samples is not None else [sample(12)]},
    }  # fmt: skip
    fields.update(extra)
    return AlertRow(**fields)


def test_times_are_local_with_the_zone_named_once() -> None:
    """Was ``dalle 2026-12-04T09:40:00+00:00`` with timezone = "Europe/Rome"."""
    it = build_message(alert(), "opened", "it", "Europe/Rome")
    assert "dalle 04 dic 10:40 (Europe/Rome)" in it.text and "dalle 04 dic 10:40 (Europe/Rome)" in it.html
    assert "04 dic 10:52" in it.text  # the example post's time, local too
    assert it.text.count("Europe/Rome") == 1 and HtmlView.of(it.html).text.count("Europe/Rome") == 1
    assert "dalle 04 dic 10:40" in it.subject and "Europe/Rome" not in it.subject
    en = build_message(alert(), "opened", "en", "America/New_York")
    assert "since Dec 04 04:40 (America/New_York)" in en.text
    for message in (it, en):
        assert "2026-12-04T" not in message.text + message.html + message.subject


def test_the_number_beside_a_post_says_what_it_is() -> None:
    """Was a bare ``(0)``: now ``12 interactions``, nothing when zero or unknown."""
    posts = [sample(12, "dodici"), sample(0, "zero"), sample(1, "uno"), sample(None, "ignoto")]
    it = build_message(alert(samples=posts), "opened", "it", "Europe/Rome")
    assert "x · mario · 04 dic 10:52 · 12 interazioni: dodici" in it.text
    assert "x · mario · 04 dic 10:52 · 1 interazione: uno" in it.text
    assert "x · mario · 04 dic 10:52: zero" in it.text and "x · mario · 04 dic 10:52: ignoto" in it.text
    assert "(0)" not in it.text and "0 interazioni" not in it.text and "None" not in it.text
    en = build_message(alert(samples=posts), "opened", "en")
    assert "12 interactions" in en.text and "1 interaction:" in en.text
    assert "12 interactions" in HtmlView.of(en.html).text


def test_every_alert_ends_with_the_ack_command_and_the_inbox_when_served() -> None:
    message = build_message(alert(), "opened", "en", inbox_url="https://inbox.example.org/")
    last = message.text.split("Next step:")[1]
    assert "- Acknowledge it (it stays quiet unless it gets worse): listener alerts ack 12" in last
    # a negative alert on 'brand' opens the inbox on that watch's negative stories
    stories = "https://inbox.example.org/-/inbox?watch=brand&sentiment=negative"
    assert f"- Answer from the inbox: {stories}" in last
    page = HtmlView.of(message.html)
    assert "listener alerts ack 12" in page.text and stories in page.hrefs
    volume = build_message(alert("volume"), "opened", "en", inbox_url="https://inbox.example.org")
    assert "https://inbox.example.org/-/inbox?watch=brand" in HtmlView.of(volume.html).hrefs
    own = build_message(
        alert("own-account", watch="@caffe_aurora"), "opened", "en", inbox_url="https://i.org/"
    )
    assert "https://i.org/" in HtmlView.of(own.html).hrefs  # an own account: the whole inbox
    plain = build_message(alert(), "opened", "it")
    assert "Cosa fare ora:" in plain.text and "listener alerts ack 12" in plain.text
    assert "inbox" not in plain.text.lower()  # no public_url: no link to nowhere
    resolved = build_message(alert(state="resolved"), "resolved", "en")
    assert "listener alerts ack" not in resolved.text  # nothing to acknowledge any more
    hostile = build_message(alert(), "opened", "en", inbox_url='https://x.org/"><script>')
    assert "<script>" not in hostile.html and "Answer from the inbox" not in hostile.text


def test_the_next_step_survives_the_length_cap() -> None:
    posts = [sample(5, "lungo " * 400) for _ in range(30)]
    message = build_message(alert(samples=posts, explanation={"reasons": ["r" * 190] * 40, "samples": posts}),
                            "opened", "en")  # fmt: skip
    assert len(message.text) <= 3500 and message.text.rstrip().endswith("listener alerts ack 12")


def test_an_own_account_alert_carries_the_hijack_checklist_in_both_languages() -> None:
    own = alert("own-account", watch="@caffe_aurora", network="x", severity="critical", observed=3)
    for language, title in (("en", "If it was not you"), ("it", "Se non sei stato tu")):
        message = build_message(own, "opened", language, "Europe/Rome")
        page = HtmlView.of(message.html)
        assert title in message.text and title in page.text
        for i, step in enumerate(HIJACK[language], 1):
            assert f"{i}. {step}" in message.text and step in page.text
        assert "listener alerts ack 12" in message.text
        assert message.text.index(HIJACK[language][0]) < message.text.index("- posted at 03:10")  # first
        assert page.text.index(HIJACK[language][0]) < page.text.index("posted at 03:10")
    assert "password" in HIJACK["en"][0] and "password" in HIJACK["it"][0]
    assert not any(word in build_message(alert(), "opened", "en").text for word in ("password", "hijack"))


def test_chat_and_email_carry_the_next_step(backend: Backend) -> None:
    """The apprise message is plain text: apprise escapes it for each service's markup."""
    store = backend.store
    change = AlertChange(
        watch="@caffe_aurora", network="x", kind="own-account", state="opened", severity="critical",
        started_at=datetime(2026, 12, 4, 2, 10, tzinfo=UTC), at=datetime(2026, 12, 4, 2, 10, tzinfo=UTC),
        observed=3, expected=0, summary="3 posts", explanation={"reasons": ["<b>03:10</b>"], "samples": []},
    )  # fmt: skip
    row, _ = store.alerts.record(change, ["apprise", "email"])
    with http_endpoint() as endpoint, smtp_server() as (inbox, port):
        channels = {"apprise": AppriseChannel("URLS", {"URLS": endpoint.url.replace("http://", "json://")}),
                    "email": EmailChannel(EmailSettings(host="127.0.0.1", port=port, security="none", sender="l@test",
                                                  recipients=["me@test"]), {})}  # fmt: skip
        report = deliver_pending(store, channels, "it", timezone="Europe/Rome", now=change.at,
                                 inbox_url="https://inbox.example.org/")  # fmt: skip
    assert report.sent == 2
    chat = endpoint.bodies[0]["message"]
    assert "dalle 04 dic 03:10 (Europe/Rome)" in chat and f"listener alerts ack {row.id}" in chat
    assert HIJACK["it"][0] in chat and "https://inbox.example.org/" in chat
    [mail] = inbox.messages
    html = mail.get_body(("html",)).get_content()
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "Cambia la password dell&#39;account" in html and "&lt;b&gt;03:10&lt;/b&gt;" in html


def test_posts_of_stories_already_handled_say_so(backend: Backend) -> None:
    """The inbox's triage state reaches the alert: a handled post is marked, in each language."""
    store = backend.store
    at = datetime(2026, 12, 4, 9, 50, tzinfo=UTC)
    store.sync_watches([("brand", "aurora")])
    posts = [Mention("x", str(n), f"aurora post {n}", at, author_handle=f"a{n}") for n in (1, 2, 3)]
    store.save_page(Page("x", "brand", posts, matches={p.native_id: ["brand"] for p in posts}))
    ids = dict(backend.rows("SELECT native_id, id FROM mentions"))
    store.triage.set([ids["1"]], "handled", now=at)
    store.triage.set([ids["3"]], "escalated", now=at)
    samples = [sample(5, f"aurora post {n}", id=ids[str(n)], author=f"a{n}") for n in (1, 2, 3)]
    change = AlertChange(
        watch="brand", network="", kind="negative", state="opened", severity="warning", started_at=at, at=at,
        observed=3, expected=1, summary="s", explanation={"samples": samples},
    )  # fmt: skip
    store.alerts.record(change, ["apprise"])
    with http_endpoint() as endpoint:
        channels = {"apprise": AppriseChannel("URLS", {"URLS": endpoint.url.replace("http://", "json://")})}
        assert deliver_pending(store, channels, "it", now=at, timezone="Europe/Rome").sent == 1
    chat = endpoint.bodies[0]["message"]
    assert "x · a1 · 04 dic 10:52 · 5 interazioni · gestito: aurora post 1" in chat
    assert "x · a2 · 04 dic 10:52 · 5 interazioni: aurora post 2" in chat
    assert "x · a3 · 04 dic 10:52 · 5 interazioni · segnalato: aurora post 3" in chat
    english = build_message(store.alerts.list()[0], "opened", "en", states={ids["1"]: "handled"})
    assert "· 5 interactions · handled: aurora post 1" in english.text


def test_a_health_alert_shows_its_times_local_too() -> None:
    summary = "x (brand): no new mention since 2026-12-04T09:40:00+00:00, far longer than usual; check it"
    health = alert("health:quiet", network="x", summary=summary, explanation={})
    message = build_message(health, "opened", "it", "Europe/Rome")
    assert "no new mention since 04 dic 10:40 (Europe/Rome), far longer" in message.text
    assert "+00:00" not in message.text + message.html + message.data["summary"]
    assert message.data["summary"].startswith("x (brand): no new mention since 04 dic 10:40,")
