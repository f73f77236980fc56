-- Full-text search (#22) with the SQLite backend's query language and results. SQLite indexes
-- listener.tokens of the text and of the handle (its migrations 11 and 13); PostgreSQL's own
-- parsers (and unaccent) split and fold some scripts differently, so the application computes
-- the tokens in Python (storage.pg.search.search_columns) as it does author_handle_key, and the
-- query compiles to a tsquery of the same tokens: both backends match the same documents by
-- construction.
--
-- search_vector: the tokens with their positions (the text's from 1, the handle's after a gap,
-- so that a phrase never spans the two, as FTS5 matches a phrase within one column). A tsvector
-- cannot hold every text exactly (positions stop at 16383, 256 per lexeme, lexemes of at most
-- 2047 bytes): such a mention gets an empty vector and search_words, its tokens joined by
-- spaces, two between the text's and the handle's, a space at each end: a phrase is then a
-- strpos of ' a b ' (' a b' for a prefix), slower and exact. Search reads the one or the other.
ALTER TABLE mentions
    ADD COLUMN search_vector tsvector,
    ADD COLUMN search_words text,
    -- urlsplit(url).hostname, lower-cased, by the application: what site: compares
    ADD COLUMN url_host text;
CREATE INDEX mentions_search ON mentions USING gin (search_vector);
CREATE INDEX mentions_search_long ON mentions (created_at) WHERE search_words IS NOT NULL;
-- Mentions stored before this migration: PgStore.open fills their columns from Python
-- (storage.pg.search.index_unindexed); this index finds them, and is empty after.
CREATE INDEX mentions_unindexed ON mentions (id) WHERE search_vector IS NULL;
-- author: without a network (mentions_handle_key leads with the network)
CREATE INDEX mentions_handle ON mentions (author_handle_key) WHERE author_handle_key <> '';
