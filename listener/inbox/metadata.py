"""What Datasette is told about a listener database: titles, search, order, facets, canned queries.

Datasette finds a table's full-text index by its ``content=`` table; ours reads
``mentions_fts_words`` (a view of listener's tokens), so the mentions table names
its index here. Tables open newest first, and the common questions are canned
queries written as plain SQL anyone can copy into ``listener sql``.
Plain data, no Datasette import: ``listener serve`` builds it before starting.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CANNED_QUERIES", "MENTION_COLUMNS", "metadata"]

# The columns whose meaning is not in their name (Datasette lists these above the table).
MENTION_COLUMNS = {
    "network": "x, reddit, mastodon, bluesky, hackernews, rss, youtube, facebook or instagram",
    "native_id": "the post's id on its network (unique with network)",
    "text": "the post, comment or article as collected (its earlier texts are in mention_versions)",
    "language": "the network's language code, else detected offline",
    "created_at": "when it was posted (UTC, ISO-8601)",
    "collected_at": "when listener stored it (UTC)",
    "in_reply_to_id": "the native id of the post it answers",
    "conversation_id": "the thread it belongs to, where the network says",
    "view_count": "views, where the network counts them; this and the other counts are as last collected",
    "raw": "the network's payload as JSON",
    "sentiment_label": "negative, neutral or positive (listener's own model)",
    "sentiment_score": "the model's confidence in the label",
    "deleted_at": "when the network said it was deleted; the row is kept as evidence",
}

_SINCE_7_DAYS = "strftime('%Y-%m-%dT%H:%M:%S', 'now', '-7 days')"

CANNED_QUERIES: dict[str, dict[str, str]] = {
    "negative_today": {
        "title": "Negative mentions today",
        "description": "Since midnight, local time of the server, newest first.",
        "sql": """SELECT created_at, network, author_handle, text, url
FROM mentions
WHERE sentiment_label = 'negative'
  AND created_at >= strftime('%Y-%m-%dT%H:%M:%S', date('now', 'localtime'), 'utc')
ORDER BY created_at DESC
LIMIT 500""",
    },
    "negative_authors_week": {
        "title": "Top authors by negative mentions this week",
        "description": "Negative on many different days is a troll; many posts on one day, a customer in trouble.",
        "sql": f"""SELECT network, author_handle, count(*) AS negative,
  count(DISTINCT substr(created_at, 1, 10)) AS days, max(created_at) AS latest
FROM mentions
WHERE sentiment_label = 'negative' AND created_at >= {_SINCE_7_DAYS}
GROUP BY network, author_handle
ORDER BY negative DESC, days DESC
LIMIT 50""",
    },
    "mentions_per_network_per_day": {
        "title": "Mentions per network per day",
        "description": "The last 30 days (UTC days), with how many were negative.",
        "sql": """SELECT substr(created_at, 1, 10) AS day, network, count(*) AS mentions,
  sum(sentiment_label = 'negative') AS negative
FROM mentions
WHERE created_at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-30 days')
GROUP BY day, network
ORDER BY day DESC, mentions DESC""",
    },
    "unanswered_negative": {
        "title": "Unanswered negative mentions",
        "description": (
            "The last 7 days: no reply from your own accounts in the thread, not marked handled or ignored."
        ),
        "sql": f"""SELECT m.created_at, m.network, m.author_handle, m.text, m.url
FROM mentions m
WHERE m.sentiment_label = 'negative' AND m.created_at >= {_SINCE_7_DAYS}
  AND NOT EXISTS (
    SELECT 1 FROM mentions r
    JOIN own_accounts o ON o.network = r.network AND o.handle IN (lower(r.author_handle), r.author_id)
    WHERE r.network = m.network
      AND (r.in_reply_to_id = m.native_id
           OR (r.conversation_id = m.conversation_id AND r.created_at > m.created_at)))
  AND NOT EXISTS (
    SELECT 1 FROM triage t WHERE t.mention_id = m.id AND t.state IN ('handled', 'ignored'))
ORDER BY m.created_at DESC
LIMIT 500""",
    },
    "author_mentions": {
        "title": "What an author wrote",
        "description": "Every mention kept of a handle (with or without @), newest first.",
        "sql": """SELECT m.created_at, m.network, m.author_handle, m.sentiment_label, m.text, m.url
FROM authors a
JOIN mentions m ON m.network = a.network
  AND coalesce(nullif(m.author_id, ''), nullif(m.author_handle, '')) = a.author_key
WHERE lower(a.handle) = lower(ltrim(:handle, '@'))
ORDER BY m.created_at DESC
LIMIT 500""",
    },
    "watch_mentions": {
        "title": "Mentions of a watch",
        "description": "The mentions a watch matched (its name, as in listener.toml), newest first.",
        "sql": """SELECT m.created_at, m.network, m.author_handle, m.language, m.sentiment_label, m.text, m.url
FROM watches w
JOIN mention_watches mw ON mw.watch_id = w.id
JOIN mentions m ON m.id = mw.mention_id
WHERE w.name = :watch
ORDER BY m.created_at DESC
LIMIT 500""",
    },
}

# Tables that are logs of events: newest first.
_NEWEST_FIRST = {
    "alerts": "started_at",
    "deliveries": "created_at",
    "delivery_attempts": "attempted_at",
    "digests": "sent_at",
    "mention_versions": "replaced_at",
    "rejects": "received_at",
    "runs": "started_at",
    "triage": "updated_at",
    "triage_log": "at",
}


def metadata(database: str, inbox_url: str = "/-/inbox") -> dict[str, Any]:
    """Datasette metadata for the listener database that Datasette names ``database``."""
    tables: dict[str, Any] = {name: {"sort_desc": column} for name, column in _NEWEST_FIRST.items()}
    tables["mentions"] = {
        "description": "One row per post, comment or article. The search box finds words without "
        "accents or case: perché finds Perché and perche.",
        "fts_table": "mentions_fts",
        "fts_pk": "id",
        "sort_desc": "created_at",
        "facets": ["network", "language", "sentiment_label"],
        "columns": MENTION_COLUMNS,
    }
    tables["alerts"]["facets"] = ["kind", "state", "watch"]
    tables["mention_watches"] = {"facets": ["watch_id"], "description": "Which watch matched which mention."}
    tables["watches"] = {"label_column": "name"}
    tables["authors"] = {"sort_desc": "negative", "facets": ["network"]}
    tables["mentions_fts_words"] = {"hidden": True}
    tables["mentions_fts"] = {"hidden": True}
    return {
        "title": "listener",
        "description_html": f'Mentions, alerts and digests. <a href="{inbox_url}">The inbox</a>: '
        "what to answer first.",
        "databases": {database: {"tables": tables, "queries": CANNED_QUERIES}},
    }
