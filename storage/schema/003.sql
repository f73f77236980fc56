-- counts per watch, network and 5-minute bucket, kept by triggers, so an alert
-- poll reads thousands of small rows instead of every mention of every watch.
CREATE TABLE watch_buckets (
    watch_id INTEGER NOT NULL,
    network TEXT NOT NULL,
    bucket INTEGER NOT NULL,           -- seconds since the epoch / 300
    volume INTEGER NOT NULL DEFAULT 0,
    negative INTEGER NOT NULL DEFAULT 0,
    unscored INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (watch_id, bucket, network)
) WITHOUT ROWID;

INSERT INTO watch_buckets (watch_id, network, bucket, volume, negative, unscored)
SELECT mw.watch_id, m.network, CAST(strftime('%s', m.created_at) AS INTEGER) / 300, count(*),
  count(CASE WHEN m.sentiment_label = 'negative' THEN 1 END), count(CASE WHEN m.sentiment_label IS NULL THEN 1 END)
FROM mention_watches mw JOIN mentions m ON m.id = mw.mention_id
GROUP BY 1, 2, 3;

CREATE TRIGGER watch_buckets_match AFTER INSERT ON mention_watches BEGIN
    INSERT INTO watch_buckets (watch_id, network, bucket, volume, negative, unscored)
    SELECT new.watch_id, m.network, CAST(strftime('%s', m.created_at) AS INTEGER) / 300, 1,
      m.sentiment_label IS 'negative', m.sentiment_label IS NULL
    FROM mentions m WHERE m.id = new.mention_id
    ON CONFLICT (watch_id, bucket, network) DO UPDATE SET volume = volume + 1,
      negative = negative + excluded.negative, unscored = unscored + excluded.unscored;
END;

CREATE TRIGGER watch_buckets_unmatch AFTER DELETE ON mention_watches BEGIN
    UPDATE watch_buckets SET volume = volume - 1,
      negative = negative - (SELECT sentiment_label IS 'negative' FROM mentions WHERE id = old.mention_id),
      unscored = unscored - (SELECT sentiment_label IS NULL FROM mentions WHERE id = old.mention_id)
    WHERE watch_id = old.watch_id
      AND (network, bucket) = (SELECT network, CAST(strftime('%s', created_at) AS INTEGER) / 300
                               FROM mentions WHERE id = old.mention_id);
END;

CREATE TRIGGER watch_buckets_scored AFTER UPDATE OF sentiment_label ON mentions
WHEN old.sentiment_label IS NOT new.sentiment_label BEGIN
    UPDATE watch_buckets SET
      negative = negative + (new.sentiment_label IS 'negative') - (old.sentiment_label IS 'negative'),
      unscored = unscored + (new.sentiment_label IS NULL) - (old.sentiment_label IS NULL)
    WHERE network = new.network AND bucket = CAST(strftime('%s', new.created_at) AS INTEGER) / 300
      AND watch_id IN (SELECT watch_id FROM mention_watches WHERE mention_id = new.id);
END;
