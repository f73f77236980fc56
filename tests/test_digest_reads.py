"""The digest's reads on both backends (#22): the same counts, rows, orders and types.

SQLite reads counts its triggers keep (watch_hours and watch_buckets, mention_buckets,
run_hours), PostgreSQL counts the base tables inside the days asked: a day that starts off
the hour (Kolkata, +05:30) and a range off the 5-minute marks take both of SQLite's paths.
Sentiment, runs and authors are written with the same plain SQL on both (their methods are
other modules'); mentions through ``save_page``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from listener.model import Mention, Page
from listener.records import AlertChange
from storage.rows import AuthorRow, DigestRow, DigestWatchDay, NetworkRuns
from tests.backends import Backend

A0 = datetime(2026, 11, 18, 18, 30, tzinfo=UTC)  # 2026-11-19 in Kolkata
B0 = A0 + timedelta(days=1)  # 2026-11-20 in Kolkata
B1 = B0 + timedelta(days=1)
NETWORKS = ["mastodon", "reddit", "x"]


def bucket(at: datetime) -> int:
    return int(at.timestamp()) // 300


def execute(backend: Backend, sql: str) -> None:
    """A write in the same SQL on both backends (``backend.rows`` is for reads)."""
    backend.store.conn.execute(sql)


def seed(backend: Backend) -> None:
    store = backend.store
    store.sync_watches([("brand", "aurora"), ("complaints", "aurora rimborso")])
    posts = [  # (network, id, created_at, watches, label, extra)
        ("x", "1", B0 - timedelta(hours=8, minutes=30), ["brand"], "negative", {}),
        ("x", "2", B0 - timedelta(seconds=1), ["brand"], "neutral", {}),  # the last second of day A
        ("x", "3", B0, ["brand", "complaints"], "negative", {}),
        ("x", "4", B0 + timedelta(minutes=4), ["brand"], None, {}),  # in day B's first, off-hour, half hour
        ("x", "5", B0 + timedelta(hours=17, minutes=30), ["complaints"], "negative", {}),
        ("reddit", "6", B1 + timedelta(minutes=1), ["brand"], "negative", {}),  # after day B
        ("mastodon", "7", B0 + timedelta(hours=8, minutes=30), [], None, {}),  # no watch: totals only
        ("x", "8", B0 + timedelta(hours=9, minutes=30), ["brand"], None, {}),  # deleted upstream: still counted
        ("x", "9", datetime(2026, 11, 1, 0, 2, tzinfo=UTC), ["brand"], "positive", {"author_handle": "early"}),
        ("x", "10", B0 + timedelta(hours=10), [], "negative", {"author_handle": "grumpy"}),
        ("x", "11", B0 + timedelta(hours=11), [], "neutral",
         {"author_handle": "Aurora_Official", "in_reply_to_id": "10"}),
    ]  # fmt: skip
    for network in NETWORKS:
        mine = [p for p in posts if p[0] == network]
        found = [Mention(n, i, f"aurora {i}", at, **extra) for n, i, at, _, _, extra in mine]
        store.save_page(Page(network, "brand", found, matches={i: w for _, i, _, w, _, _ in mine if w}))
    store.mark_deleted("x", ["8"])
    for label in ("negative", "neutral", "positive"):
        ids = ", ".join(f"'{i}'" for _, i, _, _, lab, _ in posts if lab == label)
        execute(backend, f"UPDATE mentions SET sentiment_label = '{label}' WHERE native_id IN ({ids})")


def test_watch_days_count_each_watch_per_local_day(backend: Backend) -> None:
    seed(backend)
    days = [(bucket(A0), bucket(B0)), (bucket(B0), bucket(B1))]
    assert backend.store.digest.watch_days(days) == [
        DigestWatchDay("brand", 0, "", 2, 1, 0),
        DigestWatchDay("brand", 1, "", 3, 1, 2),
        DigestWatchDay("complaints", 1, "", 2, 2, 0),
    ]
    assert backend.store.digest.watch_days(days, ["complaints"]) == [
        DigestWatchDay("complaints", 1, "", 2, 2, 0)
    ]
    assert backend.store.digest.watch_days([(bucket(B1), bucket(B1) + 288)], ["complaints"]) == []
    firsts = {"brand": bucket(datetime(2026, 11, 1, 0, 2, tzinfo=UTC)), "complaints": bucket(B0)}
    assert backend.store.digest.first_buckets() == firsts
    assert backend.store.forget_author("x", "early") == 1
    assert backend.store.digest.first_buckets() == firsts  # the earliest ever: a watch's age stays


def test_daily_totals_count_each_mention_once_with_every_network_named(backend: Backend) -> None:
    seed(backend)
    odd = (B0 - timedelta(hours=8, minutes=29, seconds=59), B0)  # off the 5-minute marks
    assert backend.store.digest.daily_totals(
        [(A0, B0), (B0, B1), odd, (B1 + timedelta(days=1), B1)], NETWORKS
    ) == [
        (2, 1, 0, {"mastodon": 0, "reddit": 0, "x": 2}),
        (7, 3, 3, {"mastodon": 1, "reddit": 0, "x": 6}),
        (1, 0, 0, {"mastodon": 0, "reddit": 0, "x": 1}),
        (0, 0, 0, {"mastodon": 0, "reddit": 0, "x": 0}),
    ]
    assert backend.store.digest.daily_totals([(B0, B1)]) == [(7, 3, 3, {})]


def test_repeat_authors_are_the_most_negative_seen_that_day_less_our_own(backend: Backend) -> None:
    seed(backend)
    execute(backend, "INSERT INTO own_accounts (network, handle) VALUES ('x', 'aurora_official')")
    authors = [  # network, key, handle, names, last seen, negative
        ("x", "grumpy", "grumpy", '["Grumpy"]', "2026-11-20T10:00:00+00:00", 5),
        ("reddit", "grumpy", "Grumpy", "[]", "2026-11-20T10:00:00+00:00", 5),  # a tie: by network
        ("x", "troll2", "troll2", "[]", "2026-11-20T09:00:00+00:00", 4),
        ("x", "old", "old", "[]", "2026-11-10T09:00:00+00:00", 9),  # not seen since the day began
        ("x", "Aurora_Official", "Aurora_Official", "[]", "2026-11-20T11:00:00+00:00", 7),  # our own
        ("x", "few", "few", "[]", "2026-11-20T11:00:00+00:00", 2),
    ]
    for net, key, handle, names, last, negative in authors:
        execute(
            backend,
            "INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions, negative, "
            f"neutral, positive, unscored) VALUES ('{net}', '{key}', '{handle}', '{names}', "
            f"'2026-11-01T00:00:00+00:00', '{last}', {negative + 2}, {negative}, 1, 1, 0) "
            "ON CONFLICT (network, author_key) DO UPDATE SET handle = excluded.handle, names = excluded.names, "
            "first_seen = excluded.first_seen, last_seen = excluded.last_seen, mentions = excluded.mentions, "
            "negative = excluded.negative, neutral = excluded.neutral, positive = excluded.positive, "
            "unscored = excluded.unscored",
        )
    shown = backend.store.digest.repeat_authors(B0, B1, at_least=3)
    assert shown[1] == AuthorRow(
        "x", "grumpy", "grumpy", ("Grumpy",), "2026-11-01T00:00:00+00:00", "2026-11-20T10:00:00+00:00",
        7, 5, 1, 1, 0, 1,  # replies_received: our reply to mention 10
    )  # fmt: skip
    assert [(a.network, a.author_key, a.replies_received) for a in shown] == [
        ("reddit", "grumpy", 0),
        ("x", "grumpy", 1),
        ("x", "troll2", 0),
    ]
    assert [a.author_key for a in backend.store.digest.repeat_authors(B0, B1, at_least=3, limit=1)] == [
        "grumpy"
    ]
    assert backend.store.digest.repeat_authors(B0 + timedelta(hours=12), B1)[0].replies_received == 0


def test_alerts_during_a_day_are_those_going_on_then(backend: Backend) -> None:
    alerts = backend.store.alerts
    for name, started, updated, resolved in (
        ("on the day", B0 + timedelta(hours=1), B0 + timedelta(hours=2), False),
        ("abandoned", A0, A0 + timedelta(hours=1), False),
        ("resolved that day", A0 + timedelta(hours=2), B0 + timedelta(hours=1), True),
        ("resolved before", A0 + timedelta(hours=3), A0 + timedelta(hours=4), True),
        ("after", B1 + timedelta(hours=1), B1 + timedelta(hours=1), False),
    ):
        alerts.record(AlertChange(
            watch="brand", network="", kind="volume", state="opened", severity="info", started_at=started,
            at=started, observed=9, expected=1, summary=name, explanation={"name": name},
        ), [])  # fmt: skip
        alerts.record(AlertChange(
            watch="brand", network="", kind="volume", state="resolved" if resolved else "updated",
            severity="info", started_at=started, at=updated, observed=9, expected=1, summary=name, explanation={},
        ), [])  # fmt: skip
    during = backend.store.digest.alerts_during(B0, B1)
    assert [(a.summary, a.state, a.updated_at) for a in during] == [
        ("resolved that day", "resolved", "2026-11-19T19:30:00+00:00"),
        ("on the day", "updated", "2026-11-19T20:30:00+00:00"),
    ]
    assert during[0].explanation == {"name": "resolved that day"} and during == [
        a for a in reversed(alerts.list()) if a.summary in ("on the day", "resolved that day")
    ]


def test_network_runs_sum_each_networks_sources_of_the_day(backend: Backend) -> None:
    runs = [  # network, watch, started, minutes to finish, new, error, message
        ("x", "brand", B0 + timedelta(hours=1), 1, 2, None, None),
        ("x", "brand", B0 + timedelta(hours=5), 1, 1, "rate_limited", "x: 429"),
        ("x", "feed", B0 + timedelta(hours=2), 2, 3, None, None),
        ("reddit", "brand", A0 + timedelta(hours=1), 1, 1, None, None),  # the day before: last success
        ("reddit", "brand", B0 + timedelta(hours=3), 1, 0, "auth", "reddit: login refused (401)"),
        ("reddit", "brand", B0 + timedelta(hours=4), 1, 0, "auth", None),
        ("x", "brand", B1 + timedelta(hours=1), 1, 5, None, None),  # after the day
    ]
    for net, watch, started, minutes, new, error, message in runs:

        def text(value: object) -> str:
            return "NULL" if value is None else f"'{value}'"

        execute(
            backend,
            "INSERT INTO runs (network, watch, started_at, finished_at, new, error, error_message) VALUES "
            f"('{net}', '{watch}', '{started.isoformat()}', '{(started + timedelta(minutes=minutes)).isoformat()}', "
            f"{new}, {text(error)}, {text(message)})",
        )
    digest = backend.store.digest
    expected = digest.network_runs(
        B0, B1, [("x", "brand"), ("reddit", "brand"), ("mastodon", "brand"), ("x", "brand")]
    )
    assert expected == [
        NetworkRuns("mastodon", 0, 0, 0, None, None, None, None),
        NetworkRuns(
            "reddit", 2, 2, 0, "2026-11-18T19:31:00+00:00", "auth", None, "2026-11-19T22:30:00+00:00"
        ),
        NetworkRuns(
            "x", 2, 1, 3, "2026-11-19T19:31:00+00:00", "rate_limited", "x: 429", "2026-11-19T23:30:00+00:00"
        ),
    ]
    assert digest.network_runs(B0, B1) == [
        expected[1],
        NetworkRuns(
            "x", 3, 1, 6, "2026-11-19T20:32:00+00:00", "rate_limited", "x: 429", "2026-11-19T23:30:00+00:00"
        ),
    ]
    odd = digest.network_runs(B0 + timedelta(hours=2, minutes=30), B0 + timedelta(hours=3, minutes=30))
    assert [(r.network, r.runs, r.failed, r.last_error_message) for r in odd] == [
        ("reddit", 1, 1, "reddit: login refused (401)"),
        ("x", 0, 0, None),
    ]


def test_a_digest_is_recorded_once_per_day_and_recipients(backend: Backend) -> None:
    digest = backend.store.digest
    assert digest.sent("2026-11-20", "a@test") is None
    digest.record_sent("2026-11-20", "a@test", "<1@test>", "first", now=B1)
    digest.record_sent("2026-11-20", "a@test,b@test", "<2@test>", "other list", now=B1)
    digest.record_sent("2026-11-20", "a@test", "<3@test>", "forced", now=B1 + timedelta(hours=1))
    assert digest.sent("2026-11-20", "a@test") == DigestRow(
        "2026-11-20", "a@test", "2026-11-20T19:30:00+00:00", "<3@test>", "forced"
    )
    assert backend.rows("SELECT day, recipients, message_id FROM digests ORDER BY recipients") == [
        ("2026-11-20", "a@test", "<3@test>"),
        ("2026-11-20", "a@test,b@test", "<2@test>"),
    ]
