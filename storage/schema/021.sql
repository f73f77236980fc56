-- Mentions per source (watch and network) and hour, kept by triggers on watch_buckets like
-- watch_hours (#20): 'listener status' counts each source's last 24 hours from at most 24 of
-- its own rows, one key range, instead of the 288 five-minute buckets of its watch on every
-- network, which grew with how full the buckets are (71 ms at 1M mentions, 240 ms at 10M).
-- Not folded into watch_hours: there the network would have to come after the hour (the
-- digest and an explanation's window read a watch's hours over every network), and a
-- source's hours would have to be grouped out of its watch's rows, a sort that grows with
-- them again. Only the volume: nothing reads the rest per source and hour, and each byte is
-- paid per row. Safe to run twice (IF NOT EXISTS, OR IGNORE) should the numbering shift.

CREATE TABLE IF NOT EXISTS source_hours (
    watch_id INTEGER NOT NULL,
    network TEXT NOT NULL,
    hour INTEGER NOT NULL,             -- seconds since the epoch / 3600 (bucket / 12)
    volume INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (watch_id, network, hour)
) WITHOUT ROWID;

INSERT OR IGNORE INTO source_hours (watch_id, network, hour, volume)
SELECT watch_id, network, bucket / 12, sum(volume) FROM watch_buckets GROUP BY 1, 2, 3;

CREATE TRIGGER IF NOT EXISTS source_hours_insert AFTER INSERT ON watch_buckets BEGIN
    INSERT INTO source_hours (watch_id, network, hour, volume)
    VALUES (new.watch_id, new.network, new.bucket / 12, new.volume)
    ON CONFLICT (watch_id, network, hour) DO UPDATE SET volume = volume + excluded.volume;
END;

-- A new match of a bucket changes its volume in place: one UPDATE of the hour's row. A
-- re-score changes only negative and unscored, and fires neither trigger.
CREATE TRIGGER IF NOT EXISTS source_hours_update AFTER UPDATE OF watch_id, network, bucket, volume
ON watch_buckets
WHEN old.watch_id = new.watch_id AND old.network = new.network AND old.bucket / 12 = new.bucket / 12 BEGIN
    UPDATE source_hours SET volume = volume + new.volume - old.volume
    WHERE watch_id = new.watch_id AND network = new.network AND hour = new.bucket / 12;
END;

CREATE TRIGGER IF NOT EXISTS source_hours_moved AFTER UPDATE OF watch_id, network, bucket, volume
ON watch_buckets
WHEN old.watch_id <> new.watch_id OR old.network <> new.network OR old.bucket / 12 <> new.bucket / 12 BEGIN
    UPDATE source_hours SET volume = volume - old.volume
    WHERE watch_id = old.watch_id AND network = old.network AND hour = old.bucket / 12;
    INSERT INTO source_hours (watch_id, network, hour, volume)
    VALUES (new.watch_id, new.network, new.bucket / 12, new.volume)
    ON CONFLICT (watch_id, network, hour) DO UPDATE SET volume = volume + excluded.volume;
END;

CREATE TRIGGER IF NOT EXISTS source_hours_delete AFTER DELETE ON watch_buckets BEGIN
    UPDATE source_hours SET volume = volume - old.volume
    WHERE watch_id = old.watch_id AND network = old.network AND hour = old.bucket / 12;
END;
