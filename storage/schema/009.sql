-- near-duplicate clusters. Every mention has a row here (a trigger adds it, pending:
-- cluster_id NULL) naming, once clustered, its cluster (the id of the mention that started
-- it) and the normalised article link it carries; its MinHash LSH band keys go in an
-- indexed table, so a new mention finds its candidates by lookup instead of loading the
-- window. The maths lives in listener/clusters.py. An edited text (or time) makes the
-- mention pending again, by trigger, and the next pass clusters it anew.
CREATE TABLE mention_clusters (
    mention_id INTEGER PRIMARY KEY,    -- mentions.id
    cluster_id INTEGER,                -- mentions.id of the cluster's first member; NULL = pending
    created_at TEXT NOT NULL,          -- the mention's, to bound candidates to a window
    link TEXT                          -- normalised article link (host + path), if any
);
CREATE INDEX mention_clusters_cluster ON mention_clusters (cluster_id) WHERE cluster_id IS NOT NULL;
CREATE INDEX mention_clusters_pending ON mention_clusters (mention_id) WHERE cluster_id IS NULL;
CREATE INDEX mention_clusters_link ON mention_clusters (link, created_at) WHERE link IS NOT NULL;
CREATE INDEX mention_clusters_created ON mention_clusters (created_at);
INSERT INTO mention_clusters (mention_id, created_at) SELECT id, created_at FROM mentions;

CREATE TABLE cluster_bands (
    key INTEGER NOT NULL,              -- 64-bit hash of (band number, band of the signature)
    mention_id INTEGER NOT NULL,
    PRIMARY KEY (key, mention_id)
) WITHOUT ROWID;
CREATE INDEX cluster_bands_mention ON cluster_bands (mention_id);

CREATE TRIGGER clusters_insert AFTER INSERT ON mentions BEGIN
    INSERT INTO mention_clusters (mention_id, created_at) VALUES (new.id, new.created_at);
END;
CREATE TRIGGER clusters_edited AFTER UPDATE OF text, created_at ON mentions
WHEN old.text IS NOT new.text OR old.created_at IS NOT new.created_at BEGIN
    DELETE FROM cluster_bands WHERE mention_id = new.id;
    UPDATE mention_clusters SET cluster_id = NULL, link = NULL, created_at = new.created_at
    WHERE mention_id = new.id;
END;
CREATE TRIGGER clusters_deleted AFTER DELETE ON mentions BEGIN
    DELETE FROM cluster_bands WHERE mention_id = old.id;
    DELETE FROM mention_clusters WHERE mention_id = old.id;
END;
