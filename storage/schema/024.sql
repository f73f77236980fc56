-- The digest's old lists went with #21: its one list of stories reads mentions_engaged, and
-- nothing reads the day's negative authors by handle (020's mentions_negative_day) or the
-- negative mentions of a conversation (022's mentions_negative_conversation) any more. Both
-- cost bytes on every negative mention.
DROP INDEX IF EXISTS mentions_negative_day;
DROP INDEX IF EXISTS mentions_negative_conversation;
