-- alerts, and an outbox of their deliveries (a failed send is retried, never lost).
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    watch TEXT NOT NULL,
    network TEXT NOT NULL DEFAULT '',  -- '' = every network together
    kind TEXT NOT NULL,                -- volume | negative | health:<condition>
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    state TEXT NOT NULL CHECK (state IN ('open', 'updated', 'resolved', 'acknowledged')),
    started_at TEXT NOT NULL,          -- the first bucket of the incident
    updated_at TEXT NOT NULL,
    resolved_at TEXT,
    acknowledged_at TEXT,
    observed REAL,
    expected REAL,
    summary TEXT NOT NULL,
    explanation TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(explanation)),
    UNIQUE (watch, network, kind, started_at)
);
CREATE INDEX alerts_updated ON alerts (updated_at);

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alerts (id),
    channel TEXT NOT NULL,
    event TEXT NOT NULL,               -- opened | updated | resolved
    created_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    last_error TEXT
);
CREATE INDEX deliveries_pending ON deliveries (due_at) WHERE delivered_at IS NULL;

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    attempted_at TEXT NOT NULL,
    ok INTEGER NOT NULL,
    error TEXT
);
