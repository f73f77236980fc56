-- An edited text is a change of its watches' buckets too (#20): the daemon keeps the terms
-- of an open incident's baseline week from pass to pass (SeriesMemory) and lets them go when
-- a bucket before the incident changes. A count changes through watch_buckets' triggers
-- (017); an edit changes no count, so it is logged here, at the mention's bucket.
CREATE TRIGGER bucket_changes_text AFTER UPDATE OF text ON mentions WHEN old.text IS NOT new.text BEGIN
    INSERT INTO bucket_changes (watch_id, bucket)
    SELECT mw.watch_id, CAST(strftime('%s', new.created_at) AS INTEGER) / 300
    FROM mention_watches mw WHERE mw.mention_id = new.id;
END;
