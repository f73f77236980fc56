-- Counts that SQLite keeps by triggers, on PostgreSQL (#22): what the alert pass, `listener
-- authors` and a source's health read without walking mentions. Kept by statement-level triggers
-- with transition tables: one upsert per touched row per statement (not one per mention), rows
-- locked in key order (two daemons writing the same counts wait, never deadlock, never lose an
-- update: every write is `n = n + delta` under the row lock). Across tables every writer locks
-- authors, then mentions, then watch buckets (storage.pg.authors.lock_mentions); save_page
-- inserts a page's mentions and links in one statement each, so one trigger run locks them all.
--
-- What is kept, and why:
-- * mention_watches.network and .created_at (copied from the mention): a source's latest mention
--   times, its newest mention and a watch's mentions of a time range (the alert explanation's
--   window) are index ranges of the watch's own links, however busy the other watches are.
--   SQLite needs watch_times for this; here the two indexes replace it.
-- * watch_buckets: mentions per watch, 5-minute bucket and network, with negative and unscored.
--   The alert pass reads a month of a watch's buckets (8,640 rows at most) instead of its
--   month of mentions.
-- * bucket_changes: the change feed the alert pass polls (storage.rows.BucketChanges). Its
--   change numbers follow commit order (see bucket_changes_number), or a reader could read
--   number 11, move on, and never see a number 10 committed just after.
-- * authors: per network and author, as SQLite's migration 8. `top` orders every author of
--   every network; computed from mentions it would group the whole table on each call.
-- Not kept: the number of mentions (count_mentions stays an exact count(*): one kept row per
-- network and bucket would be the row every daemon writing that network waits on).

-- Seconds since the epoch: extract(epoch ...) is only STABLE on timestamptz, though it does not
-- depend on the time zone; wrapped so that it can be used in indexes.
CREATE FUNCTION listener_epoch(timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT floor(extract(epoch FROM $1))::bigint $$;

-- ---------------------------------------------------------------------------------------------
-- Each match carries its mention's network and creation time (set on insert, moved with it).

ALTER TABLE mention_watches ADD COLUMN network text, ADD COLUMN created_at timestamptz;
UPDATE mention_watches mw SET network = m.network, created_at = m.created_at
    FROM mentions m WHERE m.id = mw.mention_id;
ALTER TABLE mention_watches ALTER COLUMN network SET NOT NULL, ALTER COLUMN created_at SET NOT NULL;
DROP INDEX mention_watches_watch;
CREATE INDEX mention_watches_time ON mention_watches (watch_id, created_at, mention_id);
CREATE INDEX mention_watches_source ON mention_watches (watch_id, network, created_at);

CREATE FUNCTION listener_match_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT m.network, m.created_at INTO NEW.network, NEW.created_at FROM mentions m WHERE m.id = NEW.mention_id;
    RETURN NEW;
END $$;
CREATE TRIGGER mention_watches_copy BEFORE INSERT ON mention_watches
    FOR EACH ROW EXECUTE FUNCTION listener_match_copy();

-- A mention's matches go before it (not by the cascade, after it), so that their counts are
-- taken back while the mention still says which bucket and label it counted in.
CREATE FUNCTION listener_unmatch_first() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM mention_watches WHERE mention_id = OLD.id) THEN
        DELETE FROM mention_watches WHERE mention_id = OLD.id;
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER mentions_unmatch_first BEFORE DELETE ON mentions
    FOR EACH ROW EXECUTE FUNCTION listener_unmatch_first();

-- ---------------------------------------------------------------------------------------------
-- The change feed. A row is numbered when its transaction commits, under an advisory lock
-- that is released only once the transaction is visible: numbers then follow commit order,
-- and a reader holding the lock in share mode (storage.pg.buckets) sees every number up to
-- the sequence's last value. Rows nobody reads are capped as in SQLite (017.sql): a reader that
-- finds numbers missing reads every series again.

CREATE SEQUENCE bucket_changes_seq;
CREATE TABLE bucket_changes (
    seq bigint UNIQUE,                 -- NULL until the transaction that wrote the row commits
    watch_id bigint NOT NULL,          -- no foreign key: a removed watch's changes stay, unread
    bucket bigint NOT NULL             -- seconds since the epoch / 300, as in watch_buckets
);
CREATE INDEX bucket_changes_unnumbered ON bucket_changes (watch_id) WHERE seq IS NULL;

CREATE FUNCTION listener_number_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lo bigint;
    hi bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(7812316254731223552);  -- storage.pg.buckets.CHANGES_LOCK
    WITH numbered AS (
        UPDATE bucket_changes SET seq = nextval('bucket_changes_seq') WHERE seq IS NULL RETURNING seq
    )
    SELECT min(seq), max(seq) INTO lo, hi FROM numbered;
    IF hi / 4096 > (lo - 1) / 4096 THEN
        DELETE FROM bucket_changes WHERE seq <= hi - 262144;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER bucket_changes_number AFTER INSERT ON bucket_changes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION listener_number_changes();

-- ---------------------------------------------------------------------------------------------
-- watch_buckets, from the matches that come and go and the mentions that are re-scored (or
-- moved). Every bucket a statement touches is logged as changed, as SQLite's triggers log
-- every watch_buckets row they write.

CREATE TABLE watch_buckets (
    watch_id bigint NOT NULL,          -- no foreign key: prune_watches removes a watch's rows itself
    bucket bigint NOT NULL,            -- seconds since the epoch / 300
    network text NOT NULL,
    volume integer NOT NULL DEFAULT 0,
    negative integer NOT NULL DEFAULT 0,
    unscored integer NOT NULL DEFAULT 0,
    PRIMARY KEY (watch_id, bucket, network)
);

-- Counts one statement's matches: `gone` (taken back) and `came` (added) are subqueries of
-- (watch_id, network, created_at, sentiment_label), read from the statement's transition tables.
CREATE FUNCTION listener_bucket_sql(gone text, came text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $f$ SELECT format($q$
    WITH d AS (
        SELECT watch_id, network, listener_epoch(created_at) / 300 AS bucket, -1 AS volume,
          -(sentiment_label IS NOT DISTINCT FROM 'negative')::int AS negative,
          -(sentiment_label IS NULL)::int AS unscored FROM (%s) g
        UNION ALL
        SELECT watch_id, network, listener_epoch(created_at) / 300, 1,
          (sentiment_label IS NOT DISTINCT FROM 'negative')::int, (sentiment_label IS NULL)::int FROM (%s) c
    ), s AS (
        SELECT watch_id, bucket, network, sum(volume) AS volume, sum(negative) AS negative,
          sum(unscored) AS unscored FROM d GROUP BY 1, 2, 3
    ), kept AS (
        INSERT INTO watch_buckets AS b (watch_id, bucket, network, volume, negative, unscored)
        SELECT * FROM s ORDER BY watch_id, bucket, network
        ON CONFLICT (watch_id, bucket, network) DO UPDATE SET volume = b.volume + excluded.volume,
          negative = b.negative + excluded.negative, unscored = b.unscored + excluded.unscored
    )
    INSERT INTO bucket_changes (watch_id, bucket) SELECT watch_id, min(bucket) FROM s GROUP BY watch_id
    $q$, gone, came) $f$;

CREATE FUNCTION listener_matches_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    rows text := 'SELECT r.watch_id, r.network, r.created_at, m.sentiment_label FROM %I r '
                 'JOIN mentions m ON m.id = r.mention_id';
    none text := 'SELECT 0::bigint AS watch_id, ''''::text AS network, now() AS created_at, '
                 'NULL::text AS sentiment_label WHERE false';
BEGIN
    IF TG_OP = 'INSERT' THEN
        EXECUTE listener_bucket_sql(none, format(rows, 'came_rows'));
    ELSE
        EXECUTE listener_bucket_sql(format(rows, 'gone_rows'), none);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER mention_watches_insert_counted AFTER INSERT ON mention_watches
    REFERENCING NEW TABLE AS came_rows FOR EACH STATEMENT EXECUTE FUNCTION listener_matches_counted();
CREATE TRIGGER mention_watches_delete_counted AFTER DELETE ON mention_watches
    REFERENCING OLD TABLE AS gone_rows FOR EACH STATEMENT EXECUTE FUNCTION listener_matches_counted();

-- A re-scored or moved mention: its matches leave the old bucket and label, join the new ones
-- (and the matches' copies of network and time follow). An edited text changes no count, but
-- is a change of its buckets too (SQLite's 019.sql): the alert pass keeps the terms of a
-- baseline week until something in it changes.
CREATE FUNCTION listener_mentions_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    side text := 'SELECT mw.watch_id, x.network, x.created_at, x.sentiment_label FROM old_rows o '
                 'JOIN new_rows n ON n.id = o.id JOIN mention_watches mw ON mw.mention_id = o.id '
                 'JOIN %I x ON x.id = o.id WHERE o.sentiment_label IS DISTINCT FROM n.sentiment_label '
                 'OR o.network <> n.network OR o.created_at <> n.created_at';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                   WHERE (o.sentiment_label, o.network, o.created_at, o.text)
                         IS DISTINCT FROM (n.sentiment_label, n.network, n.created_at, n.text)) THEN
        RETURN NULL;  -- refreshed engagement, a deletion mark: nothing counted changed
    END IF;
    IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
               WHERE o.network <> n.network OR o.created_at <> n.created_at) THEN
        UPDATE mention_watches mw SET network = n.network, created_at = n.created_at
        FROM new_rows n WHERE mw.mention_id = n.id AND (mw.network, mw.created_at) <> (n.network, n.created_at);
    END IF;
    EXECUTE listener_bucket_sql(format(side, 'old_rows'), format(side, 'new_rows'));
    INSERT INTO bucket_changes (watch_id, bucket)
    SELECT mw.watch_id, min(listener_epoch(n.created_at) / 300) FROM old_rows o
    JOIN new_rows n ON n.id = o.id JOIN mention_watches mw ON mw.mention_id = n.id
    WHERE o.text IS DISTINCT FROM n.text GROUP BY mw.watch_id;
    RETURN NULL;
END $$;
CREATE TRIGGER mentions_update_counted AFTER UPDATE ON mentions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION listener_mentions_changed();

-- ---------------------------------------------------------------------------------------------
-- authors (created in 001.sql), kept as SQLite's migration 8 keeps it: a new mention adds to
-- its author (created on first sight; display names appended up to 50), a removed one takes
-- its counts back (first and last seen recomputed through mentions_author_key; an author left
-- with nothing goes), a re-score moves one count, a change of author, name or time is a
-- removal then an addition.

-- `kept` with the names of `seen` it lacks appended, in order, up to 50 names.
CREATE FUNCTION listener_names(kept jsonb, seen text[]) RETURNS jsonb
    LANGUAGE sql IMMUTABLE AS $$
    SELECT kept || coalesce((
        SELECT jsonb_agg(name ORDER BY at) FROM (
            SELECT name, min(at) AS at FROM unnest(seen) WITH ORDINALITY AS u(name, at)
            WHERE name IS NOT NULL AND NOT kept ? name GROUP BY name
            ORDER BY min(at) LIMIT greatest(50 - jsonb_array_length(kept), 0)
        ) fresh), '[]'::jsonb)
$$;

-- One statement's authors: `gone` mentions (rows of mentions) taken back, then `came` ones added.
-- Three statements: a row updated in a WITH clause cannot be deleted by the same statement.
CREATE FUNCTION listener_author_sql(gone text, came text) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $f$ SELECT ARRAY[format($q$
    WITH g AS (
        SELECT network, coalesce(nullif(author_id, ''), nullif(author_handle, '')) AS author_key,
          count(*) AS n,
          count(*) FILTER (WHERE sentiment_label = 'negative') AS negative,
          count(*) FILTER (WHERE sentiment_label = 'neutral') AS neutral,
          count(*) FILTER (WHERE sentiment_label = 'positive') AS positive,
          count(*) FILTER (WHERE sentiment_label IS NULL) AS unscored
        FROM (%1$s) x WHERE coalesce(nullif(author_id, ''), nullif(author_handle, '')) IS NOT NULL GROUP BY 1, 2
    ), locked AS (
        SELECT a.network, a.author_key FROM authors a JOIN g USING (network, author_key)
        ORDER BY a.network, a.author_key FOR UPDATE OF a
    )
    UPDATE authors a SET mentions = a.mentions - g.n, negative = a.negative - g.negative,
      neutral = a.neutral - g.neutral, positive = a.positive - g.positive, unscored = a.unscored - g.unscored,
      first_seen = coalesce((SELECT min(m.created_at) FROM mentions m WHERE m.network = g.network
          AND coalesce(nullif(m.author_id, ''), nullif(m.author_handle, '')) = g.author_key), a.first_seen),
      last_seen = coalesce((SELECT max(m.created_at) FROM mentions m WHERE m.network = g.network
          AND coalesce(nullif(m.author_id, ''), nullif(m.author_handle, '')) = g.author_key), a.last_seen)
    FROM g WHERE (SELECT count(*) FROM locked) >= 0  -- locks first, in key order
      AND a.network = g.network AND a.author_key = g.author_key
    $q$, gone), format($q$
    DELETE FROM authors a USING (%1$s) x
    WHERE a.network = x.network AND a.author_key = coalesce(nullif(x.author_id, ''), nullif(x.author_handle, ''))
      AND a.mentions <= 0
    $q$, gone), format($q$
    INSERT INTO authors AS a (network, author_key, handle, names, first_seen, last_seen, mentions,
                              negative, neutral, positive, unscored)
    SELECT network, coalesce(nullif(author_id, ''), nullif(author_handle, '')),
      (array_agg(author_handle ORDER BY created_at DESC, id DESC))[1],
      listener_names('[]'::jsonb, array_agg(author_name ORDER BY id)), min(created_at), max(created_at), count(*),
      count(*) FILTER (WHERE sentiment_label = 'negative'), count(*) FILTER (WHERE sentiment_label = 'neutral'),
      count(*) FILTER (WHERE sentiment_label = 'positive'), count(*) FILTER (WHERE sentiment_label IS NULL)
    FROM (%1$s) x WHERE coalesce(nullif(author_id, ''), nullif(author_handle, '')) IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (network, author_key) DO UPDATE SET
      handle = CASE WHEN excluded.last_seen >= a.last_seen THEN coalesce(excluded.handle, a.handle) ELSE a.handle END,
      names = listener_names(a.names, ARRAY(SELECT jsonb_array_elements_text(excluded.names))),
      first_seen = least(a.first_seen, excluded.first_seen), last_seen = greatest(a.last_seen, excluded.last_seen),
      mentions = a.mentions + excluded.mentions, negative = a.negative + excluded.negative,
      neutral = a.neutral + excluded.neutral, positive = a.positive + excluded.positive,
      unscored = a.unscored + excluded.unscored
    $q$, came)] $f$;

CREATE FUNCTION listener_authors_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    none text := 'SELECT * FROM mentions WHERE false';
    moved text := 'SELECT x.* FROM old_rows o JOIN new_rows n ON n.id = o.id JOIN %I x ON x.id = o.id '
                  'WHERE (o.network, o.author_id, o.author_handle, o.author_name, o.created_at) '
                  'IS DISTINCT FROM (n.network, n.author_id, n.author_handle, n.author_name, n.created_at)';
    statements text[];
    statement text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        statements := listener_author_sql(none, 'SELECT * FROM came_rows');
    ELSIF TG_OP = 'DELETE' THEN
        statements := listener_author_sql('SELECT * FROM gone_rows', none);
    ELSIF NOT EXISTS (
        SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.sentiment_label, o.network, o.author_id, o.author_handle, o.author_name, o.created_at)
              IS DISTINCT FROM (n.sentiment_label, n.network, n.author_id, n.author_handle, n.author_name, n.created_at)
    ) THEN
        RETURN NULL;  -- an edit, refreshed engagement, a deletion mark: no author count changes
    ELSE
        -- Re-scored only: one count moves to another.
        WITH d AS (
            SELECT n.network, coalesce(nullif(n.author_id, ''), nullif(n.author_handle, '')) AS author_key,
              sum((n.sentiment_label IS NOT DISTINCT FROM 'negative')::int - (o.sentiment_label IS NOT DISTINCT FROM 'negative')::int) AS negative,
              sum((n.sentiment_label IS NOT DISTINCT FROM 'neutral')::int - (o.sentiment_label IS NOT DISTINCT FROM 'neutral')::int) AS neutral,
              sum((n.sentiment_label IS NOT DISTINCT FROM 'positive')::int - (o.sentiment_label IS NOT DISTINCT FROM 'positive')::int) AS positive,
              sum((n.sentiment_label IS NULL)::int - (o.sentiment_label IS NULL)::int) AS unscored
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.sentiment_label IS DISTINCT FROM n.sentiment_label
              AND (o.network, o.author_id, o.author_handle, o.author_name, o.created_at)
                  IS NOT DISTINCT FROM (n.network, n.author_id, n.author_handle, n.author_name, n.created_at)
              AND coalesce(nullif(n.author_id, ''), nullif(n.author_handle, '')) IS NOT NULL
            GROUP BY 1, 2
        ), locked AS (
            SELECT a.network, a.author_key FROM authors a JOIN d USING (network, author_key)
            ORDER BY a.network, a.author_key FOR UPDATE OF a
        )
        UPDATE authors a SET negative = a.negative + d.negative, neutral = a.neutral + d.neutral,
          positive = a.positive + d.positive, unscored = a.unscored + d.unscored
        FROM d WHERE (SELECT count(*) FROM locked) >= 0
          AND a.network = d.network AND a.author_key = d.author_key;
        statements := listener_author_sql(format(moved, 'old_rows'), format(moved, 'new_rows'));
    END IF;
    FOREACH statement IN ARRAY statements LOOP
        EXECUTE statement;
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER mentions_insert_authors AFTER INSERT ON mentions
    REFERENCING NEW TABLE AS came_rows FOR EACH STATEMENT EXECUTE FUNCTION listener_authors_counted();
CREATE TRIGGER mentions_delete_authors AFTER DELETE ON mentions
    REFERENCING OLD TABLE AS gone_rows FOR EACH STATEMENT EXECUTE FUNCTION listener_authors_counted();
CREATE TRIGGER mentions_update_authors AFTER UPDATE ON mentions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION listener_authors_counted();

-- `listener authors`: the most active (or most negative) authors, read in index order.
CREATE INDEX authors_mentions ON authors (mentions DESC, last_seen DESC);
