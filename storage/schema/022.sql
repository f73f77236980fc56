-- The digest's count of unanswered negative mentions costs our own posting, not the day's
-- mentions (#20): the day's negatives come from mention_buckets, less those our own posts
-- answered. "Later in a conversation we took part in" needs the negatives of a conversation;
-- migration 16 dropped the conversation index of every mention (~175 bytes a mention), so
-- this one holds negative mentions only, and only those in a conversation (storage.digest,
-- _SETTLED). created_at bounds each conversation to the day and to before our latest post.
CREATE INDEX IF NOT EXISTS mentions_negative_conversation ON mentions (network, conversation_id, created_at)
    WHERE sentiment_label = 'negative' AND conversation_id IS NOT NULL;
