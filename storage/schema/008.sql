-- authors per network, kept exact by triggers on mentions (like watch_buckets), and the
-- user's own accounts (configuration, synced from the config) for "replies received".
-- An author is keyed by the network's author id when it gives one, else by handle; a
-- mention with neither has no author. Replies received are counted at query time
-- (own replies are few and the reply index finds them), because own accounts change.
CREATE TABLE authors (
    network TEXT NOT NULL,
    author_key TEXT NOT NULL,          -- author_id when present, else the handle
    handle TEXT,                       -- the handle of the latest mention
    names TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(names)),  -- display names seen, first 50
    first_seen TEXT NOT NULL,          -- created_at of the earliest mention
    last_seen TEXT NOT NULL,           -- created_at of the latest mention
    mentions INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0,
    neutral INTEGER NOT NULL DEFAULT 0,
    positive INTEGER NOT NULL DEFAULT 0,
    unscored INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (network, author_key)
) WITHOUT ROWID;
CREATE INDEX authors_negative ON authors (negative DESC, mentions DESC);

-- An author's mentions: for replies received, and to recompute first/last seen on delete.
CREATE INDEX mentions_author_key
    ON mentions (network, coalesce(nullif(author_id, ''), nullif(author_handle, '')), created_at);

CREATE TABLE own_accounts (
    network TEXT NOT NULL,
    handle TEXT NOT NULL,              -- lowercased handle without '@', or an author id
    PRIMARY KEY (network, handle)
) WITHOUT ROWID;

INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions,
                     negative, neutral, positive, unscored)
SELECT g.network, g.key,
  (SELECT m2.author_handle FROM mentions m2
   WHERE m2.network = g.network AND coalesce(nullif(m2.author_id, ''), nullif(m2.author_handle, '')) = g.key
   ORDER BY m2.created_at DESC, m2.id DESC LIMIT 1),
  (SELECT json_group_array(name) FROM (
     SELECT DISTINCT m3.author_name AS name FROM mentions m3
     WHERE m3.network = g.network AND m3.author_name IS NOT NULL
       AND coalesce(nullif(m3.author_id, ''), nullif(m3.author_handle, '')) = g.key LIMIT 50)),
  g.first_seen, g.last_seen, g.n, g.neg, g.neu, g.pos, g.uns
FROM (
  SELECT network, coalesce(nullif(author_id, ''), nullif(author_handle, '')) AS key,
    min(created_at) AS first_seen, max(created_at) AS last_seen, count(*) AS n,
    count(CASE WHEN sentiment_label = 'negative' THEN 1 END) AS neg,
    count(CASE WHEN sentiment_label = 'neutral' THEN 1 END) AS neu,
    count(CASE WHEN sentiment_label = 'positive' THEN 1 END) AS pos,
    count(CASE WHEN sentiment_label IS NULL THEN 1 END) AS uns
  FROM mentions WHERE coalesce(nullif(author_id, ''), nullif(author_handle, '')) IS NOT NULL
  GROUP BY 1, 2
) g;

-- A new mention adds one to its author (created on first sight).
CREATE TRIGGER authors_insert AFTER INSERT ON mentions
WHEN coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')) IS NOT NULL BEGIN
    INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions,
                         negative, neutral, positive, unscored)
    VALUES (new.network, coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')),
            new.author_handle, CASE WHEN new.author_name IS NULL THEN '[]' ELSE json_array(new.author_name) END,
            new.created_at, new.created_at, 1,
            new.sentiment_label IS 'negative', new.sentiment_label IS 'neutral',
            new.sentiment_label IS 'positive', new.sentiment_label IS NULL)
    ON CONFLICT (network, author_key) DO UPDATE SET
      handle = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.handle, handle) ELSE handle END,
      names = CASE WHEN new.author_name IS NULL OR json_array_length(names) >= 50
                     OR EXISTS (SELECT 1 FROM json_each(names) WHERE value = new.author_name)
                   THEN names ELSE json_insert(names, '$[#]', new.author_name) END,
      first_seen = min(first_seen, excluded.first_seen),
      last_seen = max(last_seen, excluded.last_seen),
      mentions = mentions + 1,
      negative = negative + excluded.negative, neutral = neutral + excluded.neutral,
      positive = positive + excluded.positive, unscored = unscored + excluded.unscored;
END;

-- A removed mention takes its counts back; first/last seen are recomputed from what is left
-- (through mentions_author_key), and an author with no mentions left goes. Names seen stay.
CREATE TRIGGER authors_delete AFTER DELETE ON mentions
WHEN coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) IS NOT NULL BEGIN
    UPDATE authors SET
      mentions = mentions - 1,
      negative = negative - (old.sentiment_label IS 'negative'),
      neutral = neutral - (old.sentiment_label IS 'neutral'),
      positive = positive - (old.sentiment_label IS 'positive'),
      unscored = unscored - (old.sentiment_label IS NULL),
      first_seen = coalesce((SELECT min(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), first_seen),
      last_seen = coalesce((SELECT max(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), last_seen)
    WHERE network = old.network
      AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''));
    DELETE FROM authors WHERE network = old.network
      AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) AND mentions <= 0;
END;

-- Scoring (or re-scoring) moves one mention between sentiment counts. Only when nothing
-- else about the author changed in the same statement: authors_moved covers that case.
CREATE TRIGGER authors_scored AFTER UPDATE OF sentiment_label ON mentions
WHEN old.sentiment_label IS NOT new.sentiment_label
  AND old.network IS new.network AND old.author_id IS new.author_id
  AND old.author_handle IS new.author_handle AND old.author_name IS new.author_name
  AND old.created_at IS new.created_at
  AND coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')) IS NOT NULL BEGIN
    UPDATE authors SET
      negative = negative + (new.sentiment_label IS 'negative') - (old.sentiment_label IS 'negative'),
      neutral = neutral + (new.sentiment_label IS 'neutral') - (old.sentiment_label IS 'neutral'),
      positive = positive + (new.sentiment_label IS 'positive') - (old.sentiment_label IS 'positive'),
      unscored = unscored + (new.sentiment_label IS NULL) - (old.sentiment_label IS NULL)
    WHERE network = new.network
      AND author_key = coalesce(nullif(new.author_id, ''), nullif(new.author_handle, ''));
END;

-- Rare: a mention's author, name or time changed. Take the old contribution out (as on
-- delete) and put the new one in (as on insert). A re-collected edit changes only text,
-- raw and counts, so it fires nothing here and is never counted twice.
CREATE TRIGGER authors_moved AFTER UPDATE OF network, author_id, author_handle, author_name, created_at,
    sentiment_label ON mentions
WHEN old.network IS NOT new.network OR old.author_id IS NOT new.author_id
  OR old.author_handle IS NOT new.author_handle OR old.author_name IS NOT new.author_name
  OR old.created_at IS NOT new.created_at BEGIN
    UPDATE authors SET
      mentions = mentions - 1,
      negative = negative - (old.sentiment_label IS 'negative'),
      neutral = neutral - (old.sentiment_label IS 'neutral'),
      positive = positive - (old.sentiment_label IS 'positive'),
      unscored = unscored - (old.sentiment_label IS NULL),
      first_seen = coalesce((SELECT min(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), first_seen),
      last_seen = coalesce((SELECT max(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = authors.author_key), last_seen)
    WHERE network = old.network
      AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''));
    DELETE FROM authors WHERE network = old.network
      AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) AND mentions <= 0;
    INSERT INTO authors (network, author_key, handle, names, first_seen, last_seen, mentions,
                         negative, neutral, positive, unscored)
    SELECT new.network, coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')),
            new.author_handle, CASE WHEN new.author_name IS NULL THEN '[]' ELSE json_array(new.author_name) END,
            new.created_at, new.created_at, 1,
            new.sentiment_label IS 'negative', new.sentiment_label IS 'neutral',
            new.sentiment_label IS 'positive', new.sentiment_label IS NULL
    WHERE coalesce(nullif(new.author_id, ''), nullif(new.author_handle, '')) IS NOT NULL
    ON CONFLICT (network, author_key) DO UPDATE SET
      handle = CASE WHEN excluded.last_seen >= last_seen THEN coalesce(excluded.handle, handle) ELSE handle END,
      names = CASE WHEN new.author_name IS NULL OR json_array_length(names) >= 50
                     OR EXISTS (SELECT 1 FROM json_each(names) WHERE value = new.author_name)
                   THEN names ELSE json_insert(names, '$[#]', new.author_name) END,
      first_seen = min(first_seen, excluded.first_seen),
      last_seen = max(last_seen, excluded.last_seen),
      mentions = mentions + 1,
      negative = negative + excluded.negative, neutral = neutral + excluded.neutral,
      positive = positive + excluded.positive, unscored = unscored + excluded.unscored;
END;
