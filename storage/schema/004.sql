-- the daily digest: one per day and recipient list, so --send is idempotent.
CREATE TABLE digests (
    id INTEGER PRIMARY KEY,
    day TEXT NOT NULL,                 -- the local date the digest covers, YYYY-MM-DD
    recipients TEXT NOT NULL,          -- sorted, comma-separated
    sent_at TEXT NOT NULL,
    message_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    UNIQUE (day, recipients)
);
