-- bytes per mention (#20): what a mention costs beyond its row is what some read needs.
-- Only drops, a rewritten trigger and a prune: no table is rebuilt.

-- The own-account reads find an author id through mentions_author_key and a handle through
-- the full-text index (storage.accounts), and the digest's "answered later in the same
-- conversation" looks in the conversations of those own posts: ~175 bytes a mention.
DROP INDEX IF EXISTS mentions_own_handle;
DROP INDEX IF EXISTS mentions_own_id;
DROP INDEX IF EXISTS mentions_conversation;

-- Clustering's prune reads mentions_day: mention_clusters.created_at is the mention's
-- created_at (the triggers of migration 9 copy it on insert and on edit).
DROP INDEX IF EXISTS mention_clusters_created;

-- watch_times keeps the newest 256 creation times per source (watch, network), as matches
-- are written: health reads the latest 200 (storage.mentions.mention_times) and the
-- newest one, and nothing else reads it ('listener status' counts its partial first
-- bucket from mentions_day). So it grows with sources, not mentions. The 56 spare rows
-- let a few deleted mentions pass before a source shows fewer than 200 times. Ties at
-- the 256th time are all kept.
CREATE TRIGGER IF NOT EXISTS watch_times_bounded AFTER INSERT ON watch_times BEGIN
    DELETE FROM watch_times WHERE watch_id = new.watch_id AND network = new.network
      AND at < (SELECT at FROM watch_times WHERE watch_id = new.watch_id AND network = new.network
                ORDER BY at DESC LIMIT 1 OFFSET 255);
END;

-- A mention moved in time leaves its old rows and is matched anew at its new time (its old
-- row may be gone already, and the new time may be among the newest).
DROP TRIGGER IF EXISTS watch_times_moved;
CREATE TRIGGER watch_times_moved AFTER UPDATE OF network, created_at ON mentions
WHEN old.network IS NOT new.network OR old.created_at IS NOT new.created_at BEGIN
    DELETE FROM watch_times WHERE watch_id IN (SELECT watch_id FROM mention_watches WHERE mention_id = new.id)
      AND network = old.network AND at = CAST(strftime('%s', old.created_at) AS INTEGER)
      AND mention_id = new.id;
    INSERT OR IGNORE INTO watch_times (watch_id, network, at, mention_id)
    SELECT watch_id, new.network, CAST(strftime('%s', new.created_at) AS INTEGER), new.id
    FROM mention_watches WHERE mention_id = new.id;
END;

WITH cut AS MATERIALIZED (
    SELECT s.watch_id, s.network,
      (SELECT t.at FROM watch_times t WHERE t.watch_id = s.watch_id AND t.network = s.network
       ORDER BY t.at DESC LIMIT 1 OFFSET 255) AS at
    FROM (SELECT DISTINCT watch_id, network FROM watch_times) s
)
DELETE FROM watch_times WHERE at < (SELECT c.at FROM cut c
                                    WHERE c.watch_id = watch_times.watch_id AND c.network = watch_times.network);
