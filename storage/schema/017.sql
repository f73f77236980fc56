-- Which 5-minute buckets of which watch changed, in order (#20): the daemon keeps each watch's
-- series and scores between alert passes, and reads only the buckets changed since its last
-- pass (new mentions, late ones, sentiment arriving, erasure) instead of a month of buckets
-- per watch. Appended by triggers on watch_buckets; the daemon deletes what it has read, and
-- the cap keeps the table small when nothing reads it (a reader that finds rows missing
-- reloads every series, so the cap loses nothing).
CREATE TABLE bucket_changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    watch_id INTEGER NOT NULL,
    bucket INTEGER NOT NULL            -- seconds since the epoch / 300, as in watch_buckets
);

CREATE TRIGGER bucket_changes_insert AFTER INSERT ON watch_buckets BEGIN
    INSERT INTO bucket_changes (watch_id, bucket) VALUES (new.watch_id, new.bucket);
END;

CREATE TRIGGER bucket_changes_update AFTER UPDATE ON watch_buckets BEGIN
    INSERT INTO bucket_changes (watch_id, bucket) VALUES (new.watch_id, min(old.bucket, new.bucket));
END;

CREATE TRIGGER bucket_changes_delete AFTER DELETE ON watch_buckets BEGIN
    INSERT INTO bucket_changes (watch_id, bucket) VALUES (old.watch_id, old.bucket);
END;

CREATE TRIGGER bucket_changes_cap AFTER INSERT ON bucket_changes WHEN new.seq % 4096 = 0 BEGIN
    DELETE FROM bucket_changes WHERE seq <= new.seq - 262144;
END;
