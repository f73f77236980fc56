-- what the digest asks of a day: replies to a mention, its thread, the day's counts.
CREATE INDEX IF NOT EXISTS mentions_reply ON mentions (network, in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS mentions_conversation ON mentions (network, conversation_id, created_at)
    WHERE conversation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS mentions_day ON mentions (created_at, sentiment_label, network);
