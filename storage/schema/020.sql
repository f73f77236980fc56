-- The digest's most engaged mentions of a day cost what the day's blocks cost, not its mentions
-- (#20). The key is the 15-minute block of creation time (seconds since the epoch / 900), then
-- whether the mention is negative, then its engagement: the exact top N of a day is the top N
-- of the union of each (block, negative?) part's top N, and each part is walked from its most
-- engaged entry and stops after N (storage.day_parts). 15 minutes tile every local day (offsets
-- are whole quarter hours). The negative flag (0 or 1, stored in no bytes) lets the unanswered
-- negatives and the negative authors read only the day's negative mentions. The expressions are
-- those of storage.day_parts (block_sql, negative_sql, engagement_sql) and must stay equal to
-- them, or the planner cannot use the index. SQLite keeps it exact under upserts, re-scoring and deletes.
CREATE INDEX IF NOT EXISTS mentions_engaged ON mentions (
    CAST(strftime('%s', created_at) AS INTEGER) / 900,
    sentiment_label IS 'negative',
    coalesce(like_count, 0) + coalesce(repost_count, 0) + coalesce(reply_count, 0) + coalesce(quote_count, 0)
);

-- The day's negative authors (possible trolls) group the day's negative mentions by network and
-- handle: this partial index holds all that reads of them (and what tells our own accounts
-- apart; sentiment_label, constant here, only so that the index covers the query), so the
-- grouping reads no row. Still one entry per negative mention of the day: its cost follows the
-- day's negatives (a fifth of its mentions), not yet the number of authors shown.
CREATE INDEX IF NOT EXISTS mentions_negative_day ON mentions (
    CAST(strftime('%s', created_at) AS INTEGER) / 900, network, author_handle, author_id, created_at, sentiment_label
) WHERE sentiment_label = 'negative';
