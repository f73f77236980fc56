-- what health checks and 'listener status' read, kept small as runs and matches are
-- written, so that an alert poll costs what its sources cost, not their runs history
-- or their mentions. Raw runs are kept 35 days (storage.runs.RUNS_KEPT) from now on.

-- One row per source (network, watch) that ever ran; start_run and finish_run keep it
-- in the transaction that writes the run.
CREATE TABLE source_health (
    network TEXT NOT NULL,
    watch TEXT NOT NULL,
    last_run_id INTEGER NOT NULL,      -- runs.id of the latest run started
    last_run_at TEXT NOT NULL,         -- max(runs.started_at)
    last_success_at TEXT,              -- max(runs.finished_at) of the runs that ended without error
    last_error_message TEXT,           -- error_message of the latest run started (NULL while it runs)
    rate_limit_reset TEXT,             -- max(runs.rate_limit_reset)
    -- the latest finished runs, newest first: [id, started_at, finished_at, fetched, new,
    -- rejected, error, error_message, rate_limit_reset] each (storage.runs.RECENT of them)
    recent TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(recent)),
    PRIMARY KEY (network, watch)
) WITHOUT ROWID;

INSERT INTO source_health (network, watch, last_run_id, last_run_at, last_success_at, rate_limit_reset)
SELECT network, watch, max(id), max(started_at),
  max(CASE WHEN error IS NULL AND finished_at IS NOT NULL THEN finished_at END), max(rate_limit_reset)
FROM runs GROUP BY network, watch;

UPDATE source_health SET
  last_error_message = (SELECT error_message FROM runs WHERE id = source_health.last_run_id),
  recent = (SELECT json_group_array(json_array(id, started_at, finished_at, fetched, new, rejected, error,
                                               error_message, rate_limit_reset))
            FROM (SELECT * FROM runs r WHERE r.network = source_health.network AND r.watch = source_health.watch
                  AND r.finished_at IS NOT NULL ORDER BY r.id DESC LIMIT 10));

-- Posts fetched and quota units spent per network and UTC day (of started_at): monthly
-- read budgets sum a month of days instead of a month of runs.
CREATE TABLE run_days (
    network TEXT NOT NULL,
    day TEXT NOT NULL,                 -- YYYY-MM-DD
    fetched INTEGER NOT NULL DEFAULT 0,
    units INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (network, day)
) WITHOUT ROWID;

INSERT INTO run_days (network, day, fetched, units)
SELECT network, substr(started_at, 1, 10), sum(fetched), sum(units) FROM runs GROUP BY 1, 2;

-- Each watch match's creation time, per watch and network, in time order: the latest
-- mention times of a source (the quiet check) and its last day's count are index ranges.
CREATE TABLE watch_times (
    watch_id INTEGER NOT NULL,
    network TEXT NOT NULL,
    at INTEGER NOT NULL,               -- mentions.created_at, seconds since the epoch
    mention_id INTEGER NOT NULL,
    PRIMARY KEY (watch_id, network, at, mention_id)
) WITHOUT ROWID;

INSERT INTO watch_times (watch_id, network, at, mention_id)
SELECT mw.watch_id, m.network, CAST(strftime('%s', m.created_at) AS INTEGER), m.id
FROM mention_watches mw JOIN mentions m ON m.id = mw.mention_id;

CREATE TRIGGER watch_times_match AFTER INSERT ON mention_watches BEGIN
    INSERT OR IGNORE INTO watch_times (watch_id, network, at, mention_id)
    SELECT new.watch_id, m.network, CAST(strftime('%s', m.created_at) AS INTEGER), m.id
    FROM mentions m WHERE m.id = new.mention_id;
END;

CREATE TRIGGER watch_times_unmatch AFTER DELETE ON mention_watches BEGIN
    DELETE FROM watch_times WHERE watch_id = old.watch_id
      AND (network, at, mention_id) = (SELECT network, CAST(strftime('%s', created_at) AS INTEGER), id
                                       FROM mentions WHERE id = old.mention_id);
END;

CREATE TRIGGER watch_times_moved AFTER UPDATE OF network, created_at ON mentions
WHEN old.network IS NOT new.network OR old.created_at IS NOT new.created_at BEGIN
    UPDATE watch_times SET network = new.network, at = CAST(strftime('%s', new.created_at) AS INTEGER)
    WHERE watch_id IN (SELECT watch_id FROM mention_watches WHERE mention_id = new.id)
      AND network = old.network AND at = CAST(strftime('%s', old.created_at) AS INTEGER)
      AND mention_id = new.id;
END;
