-- quota units a run spent, for networks whose quota is not counted in posts (YouTube).
ALTER TABLE runs ADD COLUMN units INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS runs_network_started ON runs (network, started_at);
