-- Runs, their summaries, and the daemon's jobs on PostgreSQL (#22): what storage/pg/runs.py reads
-- besides runs itself. Runs older than 35 days are deleted as runs finish (storage.runs.RUNS_KEPT,
-- as on SQLite), so whatever must outlive them is summarised here, in the transaction that
-- writes the run; the rest is computed from runs and mentions with their indexes.
--
-- Computed, not kept: mentions of the last 24 hours per source and per watch, and each watch's
-- total (status, watches: a range of mentions_day joined to mention_watches' key; the kept counts
-- of SQLite's watch_hours/source_hours/watch_totals can replace them when PostgreSQL has them),
-- the sources that spent units since a moment (sources_since: runs_network_started).

-- One row per source (network, watch) that ever ran. Kept because runs are pruned and the
-- alert pass reads every source's latest runs, last success and back-off each minute: one key
-- lookup per source instead of each source's runs history. start_run and finish_run keep it
-- with single upserts (the row lock orders two daemons finishing runs of one source).
CREATE TABLE source_health (
    network text NOT NULL,
    watch text NOT NULL,
    last_run_id bigint NOT NULL,       -- runs.id of the latest run started
    last_run_at timestamptz NOT NULL,  -- max(runs.started_at)
    last_success_at timestamptz,       -- max(runs.finished_at) of the runs that ended without error
    last_error_message text,           -- error_message of the latest run started (NULL while it runs)
    rate_limit_reset timestamptz,      -- max(runs.rate_limit_reset)
    -- the latest finished runs, newest (highest id) first, storage.runs.RECENT of them, each
    -- [id, started_at, finished_at, fetched, new, rejected, error, error_message, rate_limit_reset]
    -- with times as UTC ISO text: the same document as SQLite's column.
    recent jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(recent) = 'array'),
    PRIMARY KEY (network, watch)
);

-- Posts fetched and quota units spent per network and UTC day (of started_at). Kept because
-- runs are pruned after 35 days and a budget check before each run would otherwise sum a
-- month of runs: it sums at most 31 rows plus the runs of a partial first day.
CREATE TABLE run_days (
    network text NOT NULL,
    day date NOT NULL,
    fetched bigint NOT NULL DEFAULT 0,
    units bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (network, day)
);

-- The daemon's schedule, so that 'listener status' elsewhere can show it.
CREATE TABLE jobs (
    id text PRIMARY KEY,               -- e.g. collect:x:brand, digest
    next_run_at timestamptz,
    last_run_at timestamptz,
    last_outcome text,
    updated_at timestamptz NOT NULL
);
