-- Triage (#21): what the user decided about a mention in the inbox, and the history of it.
-- One row per mention that has a state (handled, ignored or escalated); reopening deletes it.
-- A story's state is the latest action among its members (storage.triage, storage.stories).
-- Every action, reopening included ('open'), is appended to triage_log: who needs to know
-- what was decided and when reads it there; nothing updates or deletes it but a forget.
-- Both go with their mention (listener forget: a forgotten person's notes go too): by the
-- foreign key where foreign keys are on, and by the trigger where they are not (a shell).
CREATE TABLE IF NOT EXISTS triage (
    mention_id INTEGER PRIMARY KEY REFERENCES mentions (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('handled', 'ignored', 'escalated')),
    note TEXT,
    updated_at TEXT NOT NULL           -- UTC ISO-8601
);

CREATE TABLE IF NOT EXISTS triage_log (
    id INTEGER PRIMARY KEY,
    mention_id INTEGER NOT NULL REFERENCES mentions (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('open', 'handled', 'ignored', 'escalated')),
    note TEXT,
    at TEXT NOT NULL                   -- UTC ISO-8601
);
CREATE INDEX IF NOT EXISTS triage_log_mention ON triage_log (mention_id, id);

CREATE TRIGGER IF NOT EXISTS triage_forgotten AFTER DELETE ON mentions BEGIN
    DELETE FROM triage WHERE mention_id = old.id;
    DELETE FROM triage_log WHERE mention_id = old.id;
END;
