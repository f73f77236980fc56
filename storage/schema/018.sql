-- The authors triggers find an author's first and last mention through mentions_author_key
-- (#20): compared with the authors.author_key column, the key expression took that column's
-- text affinity and the index could not serve it, so every deleted or moved mention read
-- the whole mentions table (forgetting 8,000 mentions at 10M took hours). The key is now
-- written from old.*, which carries no affinity, as the index's own expression.

DROP TRIGGER IF EXISTS authors_delete;
CREATE TRIGGER authors_delete AFTER DELETE ON mentions
WHEN coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) IS NOT NULL BEGIN
    UPDATE authors SET
      mentions = mentions - 1,
      negative = negative - (old.sentiment_label IS 'negative'),
      neutral = neutral - (old.sentiment_label IS 'neutral'),
      positive = positive - (old.sentiment_label IS 'positive'),
      unscored = unscored - (old.sentiment_label IS NULL),
      first_seen = coalesce((SELECT min(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''))), first_seen),
      last_seen = coalesce((SELECT max(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''))), last_seen)
    WHERE network = old.network
      AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''));
    DELETE FROM authors WHERE network = old.network
      AND author_key = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, '')) AND mentions <= 0;
END;

DROP TRIGGER IF EXISTS authors_moved;
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
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''))), first_seen),
      last_seen = coalesce((SELECT max(created_at) FROM mentions WHERE network = old.network
          AND coalesce(nullif(author_id, ''), nullif(author_handle, '')) = coalesce(nullif(old.author_id, ''), nullif(old.author_handle, ''))), last_seen)
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
