-- search reads what its newest rows cost, the scoring check reads what waits, and the
-- file holds one copy of each thing. Independent of migrations 12 and 14, and safe to
-- run twice (IF NOT EXISTS, IF EXISTS) should the numbering shift under a database.

-- The latest created_at of each block of 4096 mention ids (id >> 12; storage.search
-- BLOCK_BITS): search reads a word's hits block by block, newest block first, and stops
-- when no block left can hold a hit newer than those it has (or than --since). An upper
-- bound is enough, so a deleted mention changes nothing here.
CREATE TABLE IF NOT EXISTS search_blocks (
    block INTEGER PRIMARY KEY,         -- mentions.id >> 12
    latest TEXT NOT NULL               -- at least the created_at of every mention of the block
);
CREATE INDEX IF NOT EXISTS search_blocks_latest ON search_blocks (latest);

INSERT OR REPLACE INTO search_blocks (block, latest)
SELECT id >> 12, max(created_at) FROM mentions GROUP BY 1;

CREATE TRIGGER IF NOT EXISTS search_blocks_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO search_blocks (block, latest) VALUES (new.id >> 12, new.created_at)
    ON CONFLICT (block) DO UPDATE SET latest = excluded.latest WHERE excluded.latest > latest;
END;

CREATE TRIGGER IF NOT EXISTS search_blocks_moved AFTER UPDATE OF created_at ON mentions
WHEN new.created_at > old.created_at BEGIN
    INSERT INTO search_blocks (block, latest) VALUES (new.id >> 12, new.created_at)
    ON CONFLICT (block) DO UPDATE SET latest = excluded.latest WHERE excluded.latest > latest;
END;

-- What waits for sentiment, in id order: the daemon asks every cycle (unscored(1)), then
-- per batch, and 'listener status' counts it. Empty when all is scored.
CREATE INDEX IF NOT EXISTS mentions_unscored ON mentions (id, collected_at, sentiment_label)
    WHERE sentiment_label IS NULL;

-- mentions_day (created_at, sentiment_label, network) serves every query this did.
DROP INDEX IF EXISTS mentions_created_at;
-- mentions_author (network, author_handle) served no query: author: goes through the
-- full-text index, the own-account guard through mentions_own_handle.
DROP INDEX IF EXISTS mentions_author;

-- The full-text index reads its words from a view instead of keeping its own copy of
-- them (a third of what a mention cost beyond its row): the view gives what the
-- triggers index, listener_words of the text and of the handle, so a delete passes
-- the same words back. What is indexed is what listener.tokens says, then and now: a
-- change to listener.tokens (or to the Unicode tables it reads) comes with a migration
-- that runs INSERT INTO mentions_fts (mentions_fts) VALUES ('rebuild'). Reading the
-- index's text columns calls listener_words (registered by ``migrate``); MATCH and
-- rowid never do, so 'listener sql' searches it as before.
DROP TRIGGER IF EXISTS mentions_fts_ai;
DROP TRIGGER IF EXISTS mentions_fts_ad;
DROP TRIGGER IF EXISTS mentions_fts_au;
DROP TABLE IF EXISTS mentions_fts;
CREATE VIEW IF NOT EXISTS mentions_fts_words (id, text, author_handle) AS
SELECT id, listener_words(text), listener_words(author_handle) FROM mentions;
CREATE VIRTUAL TABLE mentions_fts USING fts5 (
    text, author_handle, content = 'mentions_fts_words', content_rowid = 'id', tokenize = 'ascii'
);
INSERT INTO mentions_fts (mentions_fts) VALUES ('rebuild');
INSERT INTO mentions_fts (mentions_fts) VALUES ('optimize');
CREATE TRIGGER mentions_fts_ai AFTER INSERT ON mentions BEGIN
    INSERT INTO mentions_fts (rowid, text, author_handle)
    VALUES (new.id, listener_words(new.text), listener_words(new.author_handle));
END;
CREATE TRIGGER mentions_fts_ad AFTER DELETE ON mentions BEGIN
    INSERT INTO mentions_fts (mentions_fts, rowid, text, author_handle)
    VALUES ('delete', old.id, listener_words(old.text), listener_words(old.author_handle));
END;
-- Only a change of the indexed columns re-indexes: scoring sentiment or refreshing
-- engagement counts must stay cheap.
CREATE TRIGGER mentions_fts_au AFTER UPDATE OF text, author_handle ON mentions
WHEN old.text IS NOT new.text OR old.author_handle IS NOT new.author_handle BEGIN
    INSERT INTO mentions_fts (mentions_fts, rowid, text, author_handle)
    VALUES ('delete', old.id, listener_words(old.text), listener_words(old.author_handle));
    INSERT INTO mentions_fts (rowid, text, author_handle)
    VALUES (new.id, listener_words(new.text), listener_words(new.author_handle));
END;
