"""The schema, as an ordered list of migrations applied in place.

``PRAGMA user_version`` records how many have run. A migration is appended, never
edited, so that any older database upgrades by running the ones it lacks. The DDL
is written out rather than generated, so that it cannot drift with a library.
"""

from __future__ import annotations

import sqlite3

from storage.search import register_functions

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
    # 7: quota units a run spent, for networks whose quota is not counted in posts (YouTube).
    """
    ALTER TABLE runs ADD COLUMN units INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX IF NOT EXISTS runs_network_started ON runs (network, started_at);
    """,
    # 8: authors per network, kept exact by triggers on mentions (like watch_buckets), and the
    # user's own accounts (configuration, synced from the config) for "replies received".
    # An author is keyed by the network's author id when it gives one, else by handle; a
    # mention with neither has no author. Replies received are counted at query time
    # (own replies are few and the reply index finds them), because own accounts change.
    """
    CREATE TABLE authors (
        network TEXT NOT NULL,
        author_key TEXT NOT NULL,          -- author_id when present, else the handle
        handle TEXT,                       -- the handle of the latest mention
        names TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(names)),  -- display names seen, first 50
        first_seen TEXT NOT NULL,          -- created_at of the earliest mention
        last_seen TEXT NOT NULL,           -- created_at of the latest mention
        mentions INTEGER NOT NULL DEFAULT 0,
        negative INTEGER NOT NULL DEFAULT 0,
        neutral INTEGER NOT NULL DEFAULT 0,
        positive INTEGER NOT NULL DEFAULT 0,
        unscored INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (network, author_key)
    ) WITHOUT ROWID;
    CREATE INDEX authors_negative ON authors (negative DESC, mentions DESC);

    -- An author's mentions: for replies received, and to recompute first/last seen on delete.
    CREATE INDEX mentions_author_key
        ON mentions (network, coalesce(nullif(author_id, ''), nullif(author_handle, '')), created_at);

    CREATE TABLE own_accounts (
        network TEXT NOT NULL,
        handle TEXT NOT NULL,              -- lowercased handle without '@', or an author id
        PRIMARY KEY (network, handle)
    ) WITHOUT ROWID;

    INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions,
                         negative, neutral, positive, unscored)
    SELECT g.network, g.key,
      (SELECT m2.author_handle FROM mentions m2
       WHERE m2.network = g.network AND coalesce(nullif(m2.author_id, ''), nullif(m2.author_handle, '')) = g.key
       ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1),
      (SELECT json_group_array(name) FROM (
         SELECT DISTINCT m3.author_name AS name FROM mentions m3
         WHERE m3.network = g.network AND m3.author_name IS NOT NULL
           AND coalesce(nullif(m3.author_id, ''), nullif(m3.author_handle, '')) = g.key LIMIT 50)),
      g.first_seen, g.last_seen, g.n, g.neg, g.neu, g.pos, g.uns
    FROM (
      SELECT network, coalesce(nullif(author_id, ''), nullif(author_handle, '')) AS key,
        min(created_at) AS first_seen, max(created_at) AS last_seen, count(*) AS n,
        count(CASE WHEN sentiment_label = 'negative' THEN 1 END) AS neg,
        count(CASE WHEN sentiment_label = 'neutral' THEN 1 END) AS neu,
        count(CASE WHEN sentiment_label = 'positive' THEN 1 END) AS pos,
        count(CASE WHEN sentiment_label IS NULL THEN 1 END) AS uns
      FROM mentions WHERE coalesce(nullif(author_id, ''), nullif(author_handle, '')) IS NOT NULL
      GROUP BY 1, 2
    ) g;

    -- A new mention adds one to its author (created on first sight).
    CREATE TRIGGER authors_insert AFTER INSERT ON mentions
    WHEN coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')) IS NOT NULL BEGIN
        INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions,
                             negative, neutral, positive, unscored)
        VALUES (new.network, coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')),
                new.author_handle, CASE WHEN new.author_name IS NULL THEN '[]' ELSE json_array(new.author_name) END,
                new.created_at, new.created_at, 1,
                new.sentiment_label IS 'negative', new.sentiment_label IS 'neutral',
                new.sentiment_label IS 'positive', new.sentiment_label IS NULL)
        ON CONFLICT (network, author_key) DO UPDATE SET
          handle = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.handle, handle) ELSE handle END,
          names = CASE WHEN new.author_name IS NULL OR json_array_length(names) >= 50
                         OR EXISTS (SELECT 1 FROM json_each(names) WHERE value = new.author_name)
                       THEN names ELSE json_insert(names, '$[#]', new.author_name) END,
          first_seen = min(first_seen, excluded.first_seen),
          last_seen = max(last_seen, excluded.last_seen),
          mentions = mentions + 1,
          negative = negative + excluded.negative, neutral = neutral + excluded.neutral,
          positive = positive + excluded.positive, unscored = unscored + excluded.unscored;
    END;

    -- A removed mention takes its counts back; first/last seen are recomputed from what is left
    -- (through mentions_author_key), and an author with no mentions left goes. Names seen stay.
    CREATE TRIGGER authors_delete AFTER DELETE ON mentions
    WHEN coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) IS NOT NULL BEGIN
        UPDATE authors SET
          mentions = mentions - 1,
          negative = negative - (old.sentiment_label IS 'negative'),
          neutral = neutral - (old.sentiment_label IS 'neutral'),
          positive = positive - (old.sentiment_label IS 'positive'),
          unscored = unscored - (old.sentiment_label IS NULL),
          first_seen = coalesce((SELECT min(created_at) FROM mentions WHERE network = old.network
              AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), first_seen),
          last_seen = coalesce((SELECT max(created_at) FROM mentions WHERE network = old.network
              AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), last_seen)
        WHERE network = old.network
          AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''));
        DELETE FROM authors WHERE network = old.network
          AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) AND mentions <= 0;
    END;

    -- Scoring (or re-scoring) moves one mention between sentiment counts. Only when nothing
    -- else about the author changed in the same statement: authors_moved covers that case.
    CREATE TRIGGER authors_scored AFTER UPDATE OF sentiment_label ON mentions
    WHEN old.sentiment_label IS NOT new.sentiment_label
      AND old.network IS new.network AND old.author_id IS new.author_id
      AND old.author_handle IS new.author_handle AND old.author_name IS new.author_name
      AND old.created_at IS new.created_at
      AND coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')) IS NOT NULL BEGIN
        UPDATE authors SET
          negative = negative + (new.sentiment_label IS 'negative') - (old.sentiment_label IS 'negative'),
          neutral = neutral + (new.sentiment_label IS 'neutral') - (old.sentiment_label IS 'neutral'),
          positive = positive + (new.sentiment_label IS 'positive') - (old.sentiment_label IS 'positive'),
          unscored = unscored + (new.sentiment_label IS NULL) - (old.sentiment_label IS NULL)
        WHERE network = new.network
          AND author_key = coalesce(nullif(new.author_id, ''), nullif(new.author_handle, ''));
    END;

    -- Rare: a mention's author, name or time changed. Take the old contribution out (as on
    -- delete) and put the new one in (as on insert). A re-collected edit changes only text,
    -- raw and counts, so it fires nothing here and is never counted twice.
    CREATE TRIGGER authors_moved AFTER UPDATE OF network, author_id, author_handle, author_name, created_at,
        sentiment_label ON mentions
    WHEN old.network IS NOT new.network OR old.author_id IS NOT new.author_id
      OR old.author_handle IS NOT new.author_handle OR old.author_name IS NOT new.author_name
      OR old.created_at IS NOT new.created_at BEGIN
        UPDATE authors SET
          mentions = mentions - 1,
          negative = negative - (old.sentiment_label IS 'negative'),
          neutral = neutral - (old.sentiment_label IS 'neutral'),
          positive = positive - (old.sentiment_label IS 'positive'),
          unscored = unscored - (old.sentiment_label IS NULL),
          first_seen = coalesce((SELECT min(created_at) FROM mentions WHERE network = old.network
              AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), first_seen),
          last_seen = coalesce((SELECT max(created_at) FROM mentions WHERE network = old.network
              AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), last_seen)
        WHERE network = old.network
          AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''));
        DELETE FROM authors WHERE network = old.network
          AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) AND mentions <= 0;
        INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions,
                             negative, neutral, positive, unscored)
        SELECT new.network, coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')),
                new.author_handle, CASE WHEN new.author_name IS NULL THEN '[]' ELSE json_array(new.author_name) END,
                new.created_at, new.created_at, 1,
                new.sentiment_label IS 'negative', new.sentiment_label IS 'neutral',
                new.sentiment_label IS 'positive', new.sentiment_label IS NULL
        WHERE coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')) IS NOT NULL
        ON CONFLICT (network, author_key) DO UPDATE SET
          handle = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.handle, handle) ELSE handle END,
          names = CASE WHEN new.author_name IS NULL OR json_array_length(names) >= 50
                         OR EXISTS (SELECT 1 FROM json_each(names) WHERE value = new.author_name)
                       THEN names ELSE json_insert(names, '$[#]', new.author_name) END,
          first_seen = min(first_seen, excluded.first_seen),
          last_seen = max(last_seen, excluded.last_seen),
          mentions = mentions + 1,
          negative = negative + excluded.negative, neutral = neutral + excluded.neutral,
          positive = positive + excluded.positive, unscored = unscored + excluded.unscored;
    END;
    """,
    # 9: near-duplicate clusters. Every mention has a row here (a trigger adds it, pending:
    # cluster_id NULL) naming, once clustered, its cluster (the id of the mention that started
    # it) and the normalised article link it carries; its MinHash LSH band keys go in an
    # indexed table, so a new mention finds its candidates by lookup instead of loading the
    # window. The maths lives in listener/clusters.py. An edited text (or time) makes the
    # mention pending again, by trigger, and the next pass clusters it anew.
    """
    CREATE TABLE mention_clusters (
        mention_id INTEGER PRIMARY KEY,    -- mentions.id
        cluster_id INTEGER,                -- mentions.id of the cluster's first member; NULL = pending
        created_at TEXT NOT NULL,          -- the mention's, to bound candidates to a window
        link TEXT                          -- normalised article link (host + path), if any
    );
    CREATE INDEX mention_clusters_cluster ON mention_clusters (cluster_id) WHERE cluster_id IS NOT NULL;
    CREATE INDEX mention_clusters_pending ON mention_clusters (mention_id) WHERE cluster_id IS NULL;
    CREATE INDEX mention_clusters_link ON mention_clusters (link, created_at) WHERE link IS NOT NULL;
    CREATE INDEX mention_clusters_created ON mention_clusters (created_at);
    INSERT INTO mention_clusters (mention_id, created_at) SELECT id, created_at FROM mentions;

    CREATE TABLE cluster_bands (
        key INTEGER NOT NULL,              -- 64-bit hash of (band number, band of the signature)
        mention_id INTEGER NOT NULL,
        PRIMARY KEY (key, mention_id)
    ) WITHOUT ROWID;
    CREATE INDEX cluster_bands_mention ON cluster_bands (mention_id);

    CREATE TRIGGER clusters_insert AFTER INSERT ON mentions BEGIN
        INSERT INTO mention_clusters (mention_id, created_at) VALUES (new.id, new.created_at);
    END;
    CREATE TRIGGER clusters_edited AFTER UPDATE OF text, created_at ON mentions
    WHEN old.text IS NOT new.text OR old.created_at IS NOT new.created_at BEGIN
        DELETE FROM cluster_bands WHERE mention_id = new.id;
        UPDATE mention_clusters SET cluster_id = NULL, link = NULL, created_at = new.created_at
        WHERE mention_id = new.id;
    END;
    CREATE TRIGGER clusters_deleted AFTER DELETE ON mentions BEGIN
        DELETE FROM cluster_bands WHERE mention_id = old.id;
        DELETE FROM mention_clusters WHERE mention_id = old.id;
    END;
    """,
    # 10: the own-account guard reads an account's own posts by handle or by id.
    """
    CREATE INDEX IF NOT EXISTS mentions_own_handle ON mentions (network, lower(author_handle), created_at);
    CREATE INDEX IF NOT EXISTS mentions_own_id ON mentions (network, author_id, created_at);
    """,
    # 11: full-text search indexes the matcher's own tokens. unicode61 split some scripts
    # differently from listener.query.tokens (emoji glued to a word, kana with a voicing
    # mark, Korean, Hebrew and Arabic points, Telugu vowel signs), so a watch matched
    # mentions that search could not find. Now the triggers store listener_words (the
    # tokens joined by spaces, registered by ``migrate``) and the 'ascii' tokenizer only
    # splits them again: tokens hold no space or ASCII punctuation, and every other byte
    # is a token byte. The index keeps its own copy of the words, so a delete removes
    # exactly what was indexed even if a later listener (or Unicode) tokenizes differently.
    """
    DROP TRIGGER mentions_fts_ai;
    DROP TRIGGER mentions_fts_ad;
    DROP TRIGGER mentions_fts_au;
    DROP TABLE mentions_fts;
    CREATE VIRTUAL TABLE mentions_fts USING fts5 (text, author_handle, tokenize = 'ascii');
    INSERT INTO mentions_fts (rowid, text, author_handle)
    SELECT id, listener_words(text), listener_words(author_handle) FROM mentions;
    CREATE TRIGGER mentions_fts_ai AFTER INSERT ON mentions BEGIN
        INSERT INTO mentions_fts (rowid, text, author_handle)
        VALUES (new.id, listener_words(new.text), listener_words(new.author_handle));
    END;
    CREATE TRIGGER mentions_fts_ad AFTER DELETE ON mentions BEGIN
        DELETE FROM mentions_fts WHERE rowid = old.id;
    END;
    -- Only a change of the indexed columns re-indexes: scoring sentiment or
    -- refreshing engagement counts must stay cheap.
    CREATE TRIGGER mentions_fts_au AFTER UPDATE OF text, author_handle ON mentions
    WHEN old.text IS NOT new.text OR old.author_handle IS NOT new.author_handle BEGIN
        UPDATE mentions_fts SET text = listener_words(new.text), author_handle = listener_words(new.author_handle)
        WHERE rowid = new.id;
    END;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, migrations: list[str] = MIGRATIONS) -> int:
    """Bring the database to the last migration's version; return how many ran.

    Each migration runs in its own transaction together with the version bump,
    so a crash mid-way leaves the database at the previous version. First it
    registers the SQL functions the schema's triggers call, on this connection:
    every connection that writes goes through here.
    """
    register_functions(conn)
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
