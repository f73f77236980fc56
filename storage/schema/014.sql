-- what the digest, 'listener watches' and clustering's prune read, kept small as mentions
-- and matches are written, so that each costs what its day (or its watches) cost, not the
-- history kept. Independent of migrations 12 and 13, and safe to run twice (IF NOT EXISTS,
-- OR IGNORE) should the numbering shift under a database while 13 is written.

-- Per watch, every mention it ever matched: 'listener watches' reads one row per watch.
CREATE TABLE IF NOT EXISTS watch_totals (
    watch_id INTEGER PRIMARY KEY,
    mentions INTEGER NOT NULL DEFAULT 0
);

INSERT OR IGNORE INTO watch_totals (watch_id, mentions)
SELECT watch_id, count(*) FROM mention_watches GROUP BY watch_id;

CREATE TRIGGER IF NOT EXISTS watch_totals_match AFTER INSERT ON mention_watches BEGIN
    INSERT INTO watch_totals (watch_id, mentions) VALUES (new.watch_id, 1)
    ON CONFLICT (watch_id) DO UPDATE SET mentions = mentions + 1;
END;

CREATE TRIGGER IF NOT EXISTS watch_totals_unmatch AFTER DELETE ON mention_watches BEGIN
    UPDATE watch_totals SET mentions = mentions - 1 WHERE watch_id = old.watch_id;
END;

-- watch_buckets summed over networks per hour (bucket / 12), kept by triggers on
-- watch_buckets itself, so it is whatever watch_buckets holds: a digest day of 500
-- watches reads 500 x 24 rows, plus the 5-minute buckets of a day that starts off the hour.
CREATE TABLE IF NOT EXISTS watch_hours (
    watch_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,             -- seconds since the epoch / 3600
    volume INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0,
    unscored INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (watch_id, hour)
) WITHOUT ROWID;

INSERT OR IGNORE INTO watch_hours (watch_id, hour, volume, negative, unscored)
SELECT watch_id, bucket / 12, sum(volume), sum(negative), sum(unscored) FROM watch_buckets GROUP BY 1, 2;

CREATE TRIGGER IF NOT EXISTS watch_hours_insert AFTER INSERT ON watch_buckets BEGIN
    INSERT INTO watch_hours (watch_id, hour, volume, negative, unscored)
    VALUES (new.watch_id, new.bucket / 12, new.volume, new.negative, new.unscored)
    ON CONFLICT (watch_id, hour) DO UPDATE SET volume = volume + excluded.volume,
      negative = negative + excluded.negative, unscored = unscored + excluded.unscored;
END;

-- An upsert or a re-score changes counts in place: one UPDATE of the hour's row. (Dropped
-- first: a development database may hold an earlier form of these triggers.)
DROP TRIGGER IF EXISTS watch_hours_update;
CREATE TRIGGER IF NOT EXISTS watch_hours_update AFTER UPDATE ON watch_buckets
WHEN old.watch_id = new.watch_id AND old.bucket / 12 = new.bucket / 12 BEGIN
    UPDATE watch_hours SET volume = volume + new.volume - old.volume,
      negative = negative + new.negative - old.negative, unscored = unscored + new.unscored - old.unscored
    WHERE watch_id = new.watch_id AND hour = new.bucket / 12;
END;

CREATE TRIGGER IF NOT EXISTS watch_hours_moved AFTER UPDATE ON watch_buckets
WHEN old.watch_id <> new.watch_id OR old.bucket / 12 <> new.bucket / 12 BEGIN
    UPDATE watch_hours SET volume = volume - old.volume, negative = negative - old.negative,
      unscored = unscored - old.unscored
    WHERE watch_id = old.watch_id AND hour = old.bucket / 12;
    INSERT INTO watch_hours (watch_id, hour, volume, negative, unscored)
    VALUES (new.watch_id, new.bucket / 12, new.volume, new.negative, new.unscored)
    ON CONFLICT (watch_id, hour) DO UPDATE SET volume = volume + excluded.volume,
      negative = negative + excluded.negative, unscored = unscored + excluded.unscored;
END;

CREATE TRIGGER IF NOT EXISTS watch_hours_delete AFTER DELETE ON watch_buckets BEGIN
    UPDATE watch_hours SET volume = volume - old.volume, negative = negative - old.negative,
      unscored = unscored - old.unscored
    WHERE watch_id = old.watch_id AND hour = old.bucket / 12;
END;

-- Every mention (matched by a watch or not, each once) per 5-minute bucket and network:
-- the digest's daily totals and its chart read a day's 288 buckets, not its mentions.
CREATE TABLE IF NOT EXISTS mention_buckets (
    bucket INTEGER NOT NULL,           -- seconds since the epoch / 300, as in watch_buckets
    network TEXT NOT NULL,
    volume INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0,
    unscored INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, network)
) WITHOUT ROWID;

INSERT OR IGNORE INTO mention_buckets (bucket, network, volume, negative, unscored)
SELECT CAST(strftime('%s', created_at) AS INTEGER) / 300, network, count(*),
  count(CASE WHEN sentiment_label = 'negative' THEN 1 END), count(CASE WHEN sentiment_label IS NULL THEN 1 END)
FROM mentions GROUP BY 1, 2;

CREATE TRIGGER IF NOT EXISTS mention_buckets_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO mention_buckets (bucket, network, volume, negative, unscored)
    VALUES (CAST(strftime('%s', new.created_at) AS INTEGER) / 300, new.network, 1,
            new.sentiment_label IS 'negative', new.sentiment_label IS NULL)
    ON CONFLICT (bucket, network) DO UPDATE SET volume = volume + 1,
      negative = negative + excluded.negative, unscored = unscored + excluded.unscored;
END;

CREATE TRIGGER IF NOT EXISTS mention_buckets_delete AFTER DELETE ON mentions BEGIN
    UPDATE mention_buckets SET volume = volume - 1, negative = negative - (old.sentiment_label IS 'negative'),
      unscored = unscored - (old.sentiment_label IS NULL)
    WHERE bucket = CAST(strftime('%s', old.created_at) AS INTEGER) / 300 AND network = old.network;
END;

-- Scoring changes the label in place: one UPDATE of the bucket's row.
DROP TRIGGER IF EXISTS mention_buckets_update;
CREATE TRIGGER IF NOT EXISTS mention_buckets_scored AFTER UPDATE OF sentiment_label ON mentions
WHEN old.sentiment_label IS NOT new.sentiment_label AND old.created_at IS new.created_at
  AND old.network IS new.network BEGIN
    UPDATE mention_buckets SET
      negative = negative + (new.sentiment_label IS 'negative') - (old.sentiment_label IS 'negative'),
      unscored = unscored + (new.sentiment_label IS NULL) - (old.sentiment_label IS NULL)
    WHERE bucket = CAST(strftime('%s', new.created_at) AS INTEGER) / 300 AND network = new.network;
END;

CREATE TRIGGER IF NOT EXISTS mention_buckets_moved AFTER UPDATE OF created_at, network ON mentions
WHEN old.created_at IS NOT new.created_at OR old.network IS NOT new.network BEGIN
    UPDATE mention_buckets SET volume = volume - 1, negative = negative - (old.sentiment_label IS 'negative'),
      unscored = unscored - (old.sentiment_label IS NULL)
    WHERE bucket = CAST(strftime('%s', old.created_at) AS INTEGER) / 300 AND network = old.network;
    INSERT INTO mention_buckets (bucket, network, volume, negative, unscored)
    VALUES (CAST(strftime('%s', new.created_at) AS INTEGER) / 300, new.network, 1,
            new.sentiment_label IS 'negative', new.sentiment_label IS NULL)
    ON CONFLICT (bucket, network) DO UPDATE SET volume = volume + 1,
      negative = negative + excluded.negative, unscored = unscored + excluded.unscored;
END;

-- Clustering forgets band keys older than its window: the oldest creation time that may
-- still have band rows, so the prune deletes one range of mention_clusters_created
-- instead of listing every older mention on each pass.
CREATE TABLE IF NOT EXISTS cluster_pruned (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    low TEXT                           -- no band row belongs to a mention created before it
);

INSERT OR IGNORE INTO cluster_pruned (id, low)
SELECT 1, min(c.created_at) FROM cluster_bands b JOIN mention_clusters c ON c.mention_id = b.mention_id;

-- 'listener alerts' lists the newest incidents first: read in index order, stop at the limit.
CREATE INDEX IF NOT EXISTS alerts_started ON alerts (started_at, id);
