-- the daemon's schedule, so 'listener status' in another terminal can show it.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,               -- e.g. collect:x:brand, digest
    next_run_at TEXT,
    last_run_at TEXT,
    last_outcome TEXT,
    updated_at TEXT NOT NULL
);
