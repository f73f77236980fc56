"""The schema, as an ordered list of migrations applied in place.

``PRAGMA user_version`` records how many have run. A migration is appended, never
edited, so that any older database upgrades by running the ones it lacks. The DDL
is written out rather than generated, so that it cannot drift with a library.
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: list[str] = [
    # 1: the base schema.
    """
    CREATE TABLE mentions (
        id INTEGER PRIMARY KEY,
        network TEXT NOT NULL CHECK (network <> ''),
        native_id TEXT NOT NULL CHECK (native_id <> ''),
        url TEXT,
        author_id TEXT,
        author_handle TEXT,
        author_name TEXT,
        text TEXT NOT NULL,
        language TEXT,
        created_at TEXT NOT NULL,
        collected_at TEXT NOT NULL,
        updated_at TEXT,
        in_reply_to_id TEXT,
        conversation_id TEXT,
        like_count INTEGER,
        repost_count INTEGER,
        reply_count INTEGER,
        quote_count INTEGER,
        view_count INTEGER,
        raw TEXT NOT NULL CHECK (json_valid(raw)),
        sentiment_label TEXT CHECK (sentiment_label IN ('negative', 'neutral', 'positive')),
        sentiment_score REAL,
        sentiment_model TEXT,
        deleted_at TEXT,
        UNIQUE (network, native_id)
    );
    CREATE INDEX mentions_created_at ON mentions (created_at);
    CREATE INDEX mentions_author ON mentions (network, author_handle);

    CREATE TABLE mention_versions (
        id INTEGER PRIMARY KEY,
        mention_id INTEGER NOT NULL REFERENCES mentions (id),
        text TEXT NOT NULL,
        raw TEXT NOT NULL,
        seen_from TEXT NOT NULL,
        replaced_at TEXT NOT NULL
    );
    CREATE INDEX mention_versions_mention ON mention_versions (mention_id);

    CREATE TABLE watches (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        query TEXT NOT NULL,
        created_at TEXT NOT NULL
    );

    CREATE TABLE mention_watches (
        mention_id INTEGER NOT NULL REFERENCES mentions (id),
        watch_id INTEGER NOT NULL REFERENCES watches (id),
        PRIMARY KEY (mention_id, watch_id)
    ) WITHOUT ROWID;
    CREATE INDEX mention_watches_watch ON mention_watches (watch_id);

    CREATE TABLE cursors (
        network TEXT NOT NULL,
        watch TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (network, watch)
    );

    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        network TEXT NOT NULL,
        watch TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        fetched INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        duplicates INTEGER NOT NULL DEFAULT 0,
        rejected INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        error_message TEXT,
        rate_limit_reset TEXT
    );
    CREATE INDEX runs_source ON runs (network, watch, started_at);

    CREATE TABLE rejects (
        id INTEGER PRIMARY KEY,
        network TEXT NOT NULL,
        watch TEXT NOT NULL,
        native_id TEXT,
        reason TEXT NOT NULL,
        raw TEXT NOT NULL,
        received_at TEXT NOT NULL
    );

    -- Accent-insensitive full-text search over text and author handle, kept in
    -- sync by triggers (external content: the text is stored once).
    CREATE VIRTUAL TABLE mentions_fts USING fts5 (
        text, author_handle,
        content = 'mentions', content_rowid = 'id',
        tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER mentions_fts_ai AFTER INSERT ON mentions BEGIN
        INSERT INTO mentions_fts (rowid, text, author_handle)
        VALUES (new.id, new.text, new.author_handle);
    END;
    CREATE TRIGGER mentions_fts_ad AFTER DELETE ON mentions BEGIN
        INSERT INTO mentions_fts (mentions_fts, rowid, text, author_handle)
        VALUES ('delete', old.id, old.text, old.author_handle);
    END;
    -- Only a change of the indexed columns re-indexes: scoring sentiment or
    -- refreshing engagement counts must stay cheap.
    CREATE TRIGGER mentions_fts_au AFTER UPDATE OF text, author_handle ON mentions BEGIN
        INSERT INTO mentions_fts (mentions_fts, rowid, text, author_handle)
        VALUES ('delete', old.id, old.text, old.author_handle);
        INSERT INTO mentions_fts (rowid, text, author_handle)
        VALUES (new.id, new.text, new.author_handle);
    END;
    """,
    # 2: alerts, and an outbox of their deliveries (a failed send is retried, never lost).
    """
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        watch TEXT NOT NULL,
        network TEXT NOT NULL DEFAULT '',  -- '' = every network together
        kind TEXT NOT NULL,                -- volume | negative | health:<condition>
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        state TEXT NOT NULL CHECK (state IN ('open', 'updated', 'resolved', 'acknowledged')),
        started_at TEXT NOT NULL,          -- the first bucket of the incident
        updated_at TEXT NOT NULL,
        resolved_at TEXT,
        acknowledged_at TEXT,
        observed REAL,
        expected REAL,
        summary TEXT NOT NULL,
        explanation TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(explanation)),
        UNIQUE (watch, network, kind, started_at)
    );
    CREATE INDEX alerts_updated ON alerts (updated_at);

    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        alert_id INTEGER NOT NULL REFERENCES alerts (id),
        channel TEXT NOT NULL,
        event TEXT NOT NULL,               -- opened | updated | resolved
        created_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at TEXT,
        last_error TEXT
    );
    CREATE INDEX deliveries_pending ON deliveries (due_at) WHERE delivered_at IS NULL;

    CREATE TABLE delivery_attempts (
        id INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
        attempted_at TEXT NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT
    );
    """,
    # 3: counts per watch, network and 5-minute bucket, kept by triggers, so an alert
    # poll reads thousands of small rows instead of every mention of every watch.
    """
    CREATE TABLE watch_buckets (
        watch_id INTEGER NOT NULL,
        network TEXT NOT NULL,
        bucket INTEGER NOT NULL,           -- seconds since the epoch / 300
        volume INTEGER NOT NULL DEFAULT 0,
        negative INTEGER NOT NULL DEFAULT 0,
        unscored INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (watch_id, bucket, network)
    ) WITHOUT ROWID;

    INSERT INTO watch_buckets (watch_id, network, bucket, volume, negative, unscored)
    SELECT mw.watch_id, m.network, CAST(strftime('%s', m.created_at) AS INTEGER) / 300, count(*),
      count(CASE WHEN m.sentiment_label = 'negative' THEN 1 END), count(CASE WHEN m.sentiment_label IS NULL THEN 1 END)
    FROM mention_watches mw JOIN mentions m ON m.id = mw.mention_id
    GROUP BY 1, 2, 3;

    CREATE TRIGGER watch_buckets_match AFTER INSERT ON mention_watches BEGIN
        INSERT INTO watch_buckets (watch_id, network, bucket, volume, negative, unscored)
        SELECT new.watch_id, m.network, CAST(strftime('%s', m.created_at) AS INTEGER) / 300, 1,
          m.sentiment_label IS 'negative', m.sentiment_label IS NULL
        FROM mentions m WHERE m.id = new.mention_id
        ON CONFLICT (watch_id, bucket, network) DO UPDATE SET volume = volume + 1,
          negative = negative + excluded.negative, unscored = unscored + excluded.unscored;
    END;

    CREATE TRIGGER watch_buckets_unmatch AFTER DELETE ON mention_watches BEGIN
        UPDATE watch_buckets SET volume = volume - 1,
          negative = negative - (SELECT sentiment_label IS 'negative' FROM mentions WHERE id = old.mention_id),
          unscored = unscored - (SELECT sentiment_label IS NULL FROM mentions WHERE id = old.mention_id)
        WHERE watch_id = old.watch_id
          AND (network, bucket) = (SELECT network, CAST(strftime('%s', created_at) AS INTEGER) / 300
                                   FROM mentions WHERE id = old.mention_id);
    END;

    CREATE TRIGGER watch_buckets_scored AFTER UPDATE OF sentiment_label ON mentions
    WHEN old.sentiment_label IS NOT new.sentiment_label BEGIN
        UPDATE watch_buckets SET
          negative = negative + (new.sentiment_label IS 'negative') - (old.sentiment_label IS 'negative'),
          unscored = unscored + (new.sentiment_label IS NULL) - (old.sentiment_label IS NULL)
        WHERE network = new.network AND bucket = CAST(strftime('%s', new.created_at) AS INTEGER) / 300
          AND watch_id IN (SELECT watch_id FROM mention_watches WHERE mention_id = new.id);
    END;
    """,
    # 4: the daily digest: one per day and recipient list, so --send is idempotent.
    """
    CREATE TABLE digests (
        id INTEGER PRIMARY KEY,
        day TEXT NOT NULL,                 -- the local date the digest covers, YYYY-MM-DD
        recipients TEXT NOT NULL,          -- sorted, comma-separated
        sent_at TEXT NOT NULL,
        message_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        UNIQUE (day, recipients)
    );
    """,
    # 5: the daemon's schedule, so 'listener status' in another terminal can show it.
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,               -- e.g. collect:x:brand, digest
        next_run_at TEXT,
        last_run_at TEXT,
        last_outcome TEXT,
        updated_at TEXT NOT NULL
    );
    """,
    # 6: what the digest asks of a day: replies to a mention, its thread, the day's counts.
    """
    CREATE INDEX IF NOT EXISTS mentions_reply ON mentions (network, in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS mentions_conversation ON mentions (network, conversation_id, created_at)
        WHERE conversation_id IS NOT NULL;
    CREATE INDEX IF NOT EXISTS mentions_day ON mentions (created_at, sentiment_label, network);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, migrations: list[str] = MIGRATIONS) -> int:
    """Bring the database to the last migration's version; return how many ran.

    Each migration runs in its own transaction together with the version bump,
    so a crash mid-way leaves the database at the previous version.
    """
    current: int = conn.execute("PRAGMA user_version").fetchone()[0]
    target = len(migrations)
    if current > target:
        raise RuntimeError(
            f"database schema version {current} is newer than this listener ({target}): upgrade listener"
        )
    for version in range(current + 1, target + 1):
        script = migrations[version - 1]
        try:
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return max(target - current, 0)
