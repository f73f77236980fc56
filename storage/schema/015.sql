-- what the digest reads of collection health, kept as runs are written (split from 14,
-- which databases had already run when this was added). Safe to run twice.

-- The digest's collection health for a day: runs, failed runs and new mentions per source and
-- hour (of started_at), kept by triggers on runs, so a day of 4,500 sources polled every 15
-- minutes reads 108,000 small rows instead of 430,000 runs; runs of a day that starts off the
-- hour come from runs itself for the minutes outside whole hours.
CREATE TABLE IF NOT EXISTS run_hours (
    network TEXT NOT NULL,
    watch TEXT NOT NULL,
    hour INTEGER NOT NULL,             -- runs.started_at, seconds since the epoch / 3600
    runs INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, -- runs with an error
    new INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (network, watch, hour)
) WITHOUT ROWID;

INSERT OR IGNORE INTO run_hours (network, watch, hour, runs, failed, new)
SELECT network, watch, CAST(strftime('%s', started_at) AS INTEGER) / 3600, count(*), count(error), sum(new)
FROM runs GROUP BY 1, 2, 3;

CREATE TRIGGER IF NOT EXISTS run_hours_insert AFTER INSERT ON runs BEGIN
    INSERT INTO run_hours (network, watch, hour, runs, failed, new)
    VALUES (new.network, new.watch, CAST(strftime('%s', new.started_at) AS INTEGER) / 3600, 1,
            new.error IS NOT NULL, new.new)
    ON CONFLICT (network, watch, hour) DO UPDATE SET runs = runs + 1, failed = failed + excluded.failed,
      new = new + excluded.new;
END;

-- finish_run writes the outcome into the run started earlier: one UPDATE of its hour.
CREATE TRIGGER IF NOT EXISTS run_hours_finished AFTER UPDATE OF error, new ON runs
WHEN (old.error IS NULL) IS NOT (new.error IS NULL) OR old.new IS NOT new.new BEGIN
    UPDATE run_hours SET failed = failed + (new.error IS NOT NULL) - (old.error IS NOT NULL),
      new = new + new.new - old.new
    WHERE network = new.network AND watch = new.watch
      AND hour = CAST(strftime('%s', new.started_at) AS INTEGER) / 3600;
END;

CREATE TRIGGER IF NOT EXISTS run_hours_delete AFTER DELETE ON runs BEGIN
    UPDATE run_hours SET runs = runs - 1, failed = failed - (old.error IS NOT NULL), new = new - old.new
    WHERE network = old.network AND watch = old.watch
      AND hour = CAST(strftime('%s', old.started_at) AS INTEGER) / 3600;
    DELETE FROM run_hours WHERE network = old.network AND watch = old.watch
      AND hour = CAST(strftime('%s', old.started_at) AS INTEGER) / 3600 AND runs = 0;
END;

-- A source's last error of a day: runs with an error are few; this finds them without the rest.
CREATE INDEX IF NOT EXISTS runs_failed ON runs (network, watch, started_at) WHERE error IS NOT NULL;
