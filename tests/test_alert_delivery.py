"""Alerts reach real local servers (SMTP, webhook, apprise), inert, and are never lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listener.alerts.channels import AppriseChannel, EmailChannel, WebhookChannel
from listener.alerts.deliver import deliver_pending, retry_delay
from listener.alerts.message import chat_safe
from listener.errors import ConfigError
from listener.mail import EmailSettings
from listener.records import AlertChange
from tests.backends import Backend
from tests.htmlview import HtmlView
from tests.servers import http_endpoint, smtp_server

T0 = datetime(2026, 11, 20, 21, 0, tzinfo=UTC)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def change(samples: list[str] | None = None, **extra: object) -> AlertChange:
    fields: dict[str, object] = {
        "watch": "brand", "network": "", "kind": "negative", "state": "opened", "severity": "warning",
        "started_at": T0, "at": T0, "observed": 14, "expected": 2.5,
        "summary": "negative share 41% vs 9% expected",
        "explanation": {
            "what": {"share": 0.41, "expected_share": 0.09},
            "terms": [{"term": "rimborso", "window": 12, "baseline": 0}],
            "authors": [{"network": "x", "handle": "mario", "count": 3}],
            "samples": [
                {"network": "x", "author": "mario", "text": text, "url": "https://x.com/mario/status/1", "engagement": 9}
                for text in (samples or ["Il rimborso non arriva, vergogna"])
            ],
            "languages": {"it": 10}, "networks": {"x": 10},
        },
    }  # fmt: skip
    fields.update(extra)
    return AlertChange(**fields)  # type: ignore[arg-type]


def email_settings(port: int) -> EmailSettings:
    return EmailSettings(
        host="127.0.0.1", port=port, security="none", sender="listener@test", recipients=["me@test"]
    )


def test_an_incident_queues_once_per_channel_and_only_news_is_sent_again(backend: Backend) -> None:
    store = backend.store
    row, news = store.alerts.record(change(), ["email", "webhook"])
    assert news and row.state == "open"
    _, news = store.alerts.record(change(state="updated", at=T0 + timedelta(minutes=5)), ["email", "webhook"])
    assert not news  # same severity: updated in place, nobody is paged again
    row, news = store.alerts.record(
        change(state="updated", severity="critical", at=T0 + timedelta(minutes=10)), ["email"]
    )
    assert news and row.severity == "critical"
    row, news = store.alerts.record(
        change(state="resolved", severity="info", at=T0 + timedelta(hours=2)), ["email"]
    )
    assert news and row.state == "resolved" and row.severity == "critical"
    events = [(d.channel, d.event) for d in store.alerts.pending(T0 + timedelta(hours=3))]
    assert events == [("email", "opened"), ("webhook", "opened"), ("email", "updated"), ("email", "resolved")]
    assert len(store.alerts.list()) == 1


def test_acknowledged_alerts_stay_acknowledged_while_they_grow(backend: Backend) -> None:
    store = backend.store
    row, _ = store.alerts.record(change(), ["email"])
    assert store.alerts.acknowledge(row.id)
    row, _ = store.alerts.record(change(state="updated", at=T0 + timedelta(minutes=5)), ["email"])
    assert row.state == "acknowledged"
    assert not store.alerts.acknowledge(9999)


def test_email_alert_arrives_with_text_and_html_parts(backend: Backend) -> None:
    store = backend.store
    store.alerts.record(change(), ["email"])
    with smtp_server() as (inbox, port):
        report = deliver_pending(store, {"email": EmailChannel(email_settings(port), {})}, "it", now=T0)
    assert (report.sent, report.failed) == (1, 0)
    [message] = inbox.messages
    assert message["Subject"].startswith("[listener] WARNING nuovo: quota negativa brand: 41% vs atteso 9%")
    assert message["To"] == "me@test"
    text = message.get_body(("plain",)).get_content()
    body = message.get_body(("html",)).get_content()
    assert "rimborso (12 vs 0)" in text and "https://x.com/mario/status/1" in text
    assert '<a href="https://x.com/mario/status/1">' in body
    assert store.alerts.pending(T0 + timedelta(days=1)) == []


def test_a_channel_that_fails_twice_still_delivers_and_every_try_is_kept(backend: Backend) -> None:
    store = backend.store
    store.alerts.record(change(), ["webhook"])
    with http_endpoint([500, 503]) as endpoint:
        channels = {"webhook": WebhookChannel("HOOK", {"HOOK": endpoint.url})}
        now = T0
        reports = []
        for _ in range(3):
            reports.append(deliver_pending(store, channels, now=now))
            now += retry_delay(len(reports))
    assert [(r.sent, r.failed) for r in reports] == [(0, 1), (0, 1), (1, 0)]
    assert "webhook: answered 500" in reports[0].errors[0]
    assert len(endpoint.bodies) == 1 and endpoint.bodies[0]["watch"] == "brand"
    assert backend.rows("SELECT ok FROM delivery_attempts ORDER BY id") == [(0,), (0,), (1,)]


def test_a_message_waits_for_its_retry_time(backend: Backend) -> None:
    store = backend.store
    store.alerts.record(change(), ["webhook"])
    with http_endpoint([500]) as endpoint:
        channels = {"webhook": WebhookChannel("HOOK", {"HOOK": endpoint.url})}
        deliver_pending(store, channels, now=T0)
        assert deliver_pending(store, channels, now=T0 + timedelta(seconds=30)).sent == 0
        assert deliver_pending(store, channels, now=T0 + timedelta(minutes=1)).sent == 1


def test_an_unreachable_channel_keeps_the_alert_queued(backend: Backend) -> None:
    store = backend.store
    store.alerts.record(change(), ["email"])
    unreachable = EmailChannel(email_settings(1), {})
    report = deliver_pending(store, {"email": unreachable}, now=T0)
    assert report.failed == 1
    assert (
        report.errors[0].startswith("email (127.0.0.1:1): ")
        and "check host, port and security" in report.errors[0]
    )
    assert len(store.alerts.pending(T0 + timedelta(hours=1))) == 1


def test_apprise_delivers_through_a_real_url(backend: Backend) -> None:
    store = backend.store
    store.alerts.record(change(), ["apprise"])
    with http_endpoint() as endpoint:
        url = endpoint.url.replace("http://", "json://")
        report = deliver_pending(store, {"apprise": AppriseChannel("URLS", {"URLS": url})}, now=T0)
    assert report.sent == 1
    assert endpoint.bodies[0]["title"].startswith("[listener] WARNING new: negative share brand")
    assert "rimborso" in endpoint.bodies[0]["message"]


def test_secrets_missing_from_the_environment_are_named() -> None:
    with pytest.raises(ConfigError, match="environment variable HOOK is not set"):
        WebhookChannel("HOOK", {})


def test_mass_mentions_and_controls_are_broken_for_chats() -> None:
    assert "@everyone" not in chat_safe("hey @everyone look")
    assert "<!channel>" not in chat_safe("<!channel> boom")
    assert chat_safe("a\x1b[31mred\u202e") == "a\\x1b[31mred\\u202e"
    assert len(chat_safe("x" * 5000)) == 280


def test_hostile_strings_arrive_inert_by_email_webhook_and_apprise(
    backend: Backend, shared_dir: Path
) -> None:
    store = backend.store
    lines = (shared_dir / "data/hostile/blns.txt").read_text(encoding="utf-8").split("\n")
    hostile = [line for line in lines if line.strip() and not line.startswith("#")]
    chunks = [hostile[i : i + 6] for i in range(0, len(hostile), 6)]
    for i, chunk in enumerate(chunks):
        store.alerts.record(
            change(chunk, started_at=T0 + timedelta(minutes=i)), ["email", "webhook", "apprise"]
        )
    with smtp_server() as (inbox, port), http_endpoint() as hook, http_endpoint() as app:
        channels = {
            "email": EmailChannel(email_settings(port), {}),
            "webhook": WebhookChannel("HOOK", {"HOOK": hook.url}),
            "apprise": AppriseChannel("URLS", {"URLS": app.url.replace("http://", "json://")}),
        }
        report = deliver_pending(store, channels, now=T0 + timedelta(days=1))
    assert report.failed == 0 and len(inbox.messages) == len(chunks)
    parsed = [HtmlView.of(m.get_body(("html",)).get_content()) for m in inbox.messages]
    shown = "\n".join(page.text for page in parsed)
    for line in hostile:
        assert chat_safe(line) in shown, line  # shown as text, whole...
    for page in parsed:  # ...and never as markup: only our own tags and attributes
        assert page.tags <= {
            "html",
            "head",
            "meta",
            "body",
            "div",
            "p",
            "ul",
            "ol",
            "li",
            "b",
            "br",
            "a",
            "code",
        }
        assert page.attributes <= {"style", "href", "charset", "name", "content"}
        assert page.hrefs <= {"https://x.com/mario/status/1"}
        assert not CONTROL.search(page.text)
    for payload in [*hook.bodies, *app.bodies]:
        text = payload.get("text") or payload.get("message")
        assert not CONTROL.search(text) and "@everyone" not in text
    assert "<script" not in "".join(b["html"] for b in hook.bodies).lower()


def test_a_failed_try_waits_for_its_retry_and_every_try_is_kept(backend: Backend) -> None:
    """The outbox through the interface alone (what ``deliver_pending`` does with it)."""
    alerts = backend.store.alerts
    alerts.record(change(), ["webhook", "email"])
    first, second = alerts.pending(T0)
    assert [(d.channel, d.event, d.attempts) for d in (first, second)] == [
        ("webhook", "opened", 0),
        ("email", "opened", 0),
    ]
    alerts.attempted(first.id, "webhook: answered 500", T0 + timedelta(minutes=1), now=T0)
    alerts.attempted(second.id, None, None, now=T0)
    assert alerts.pending(T0 + timedelta(seconds=59)) == []
    [again] = alerts.pending(T0 + timedelta(minutes=1))
    assert (again.id, again.attempts, again.alert) == (first.id, 1, first.alert)
    alerts.attempted(again.id, None, None, now=T0 + timedelta(minutes=1))
    assert alerts.pending(T0 + timedelta(days=1)) == []
    assert backend.rows("SELECT delivery_id, ok, error FROM delivery_attempts ORDER BY id") == [
        (first.id, 0, "webhook: answered 500"),
        (second.id, 1, None),
        (first.id, 1, None),
    ]
    assert backend.rows("SELECT id, attempts, delivered_at, last_error FROM deliveries ORDER BY id") == [
        (first.id, 2, "2026-11-20T21:01:00+00:00", None),
        (second.id, 1, "2026-11-20T21:00:00+00:00", None),
    ]


def test_alerts_read_back_as_recorded_and_list_filters(backend: Backend) -> None:
    alerts = backend.store.alerts
    ranked = {"languages": {"it": 10, "en": 3}, "networks": {"x": 9, "bluesky": 4}}
    opened, _ = alerts.record(change(explanation=ranked), ["email"])
    assert opened == alerts.list()[0] == alerts.pending(T0)[0].alert
    assert [list(opened.explanation[k]) for k in ranked] == [["it", "en"], ["x", "bluesky"]]  # order kept
    assert (opened.started_at, opened.updated_at, opened.observed) == (
        "2026-11-20T21:00:00+00:00",
        "2026-11-20T21:00:00+00:00",
        14.0,
    )
    later = T0 + timedelta(hours=1)
    alerts.record(change(kind="volume", started_at=later, at=later, observed=None), [])
    alerts.record(change(state="resolved", at=later, observed=9), [])  # observed keeps its peak
    assert [(a.kind, a.state, a.observed, a.resolved_at) for a in alerts.list()] == [
        ("volume", "open", None, None),
        ("negative", "resolved", 14.0, "2026-11-20T22:00:00+00:00"),
    ]
    assert [a.kind for a in alerts.list(state="resolved")] == ["negative"]
    assert [a.kind for a in alerts.list(unresolved=True, limit=0)] == ["volume"]
    assert [a.kind for a in alerts.list(since=later, limit=1)] == ["volume"]
    assert alerts.list(since=later + timedelta(seconds=1)) == []
    assert not alerts.acknowledge(opened.id)  # resolved: nothing to acknowledge
