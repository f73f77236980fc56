-- the base schema.
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
