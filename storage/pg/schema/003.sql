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
-- 2047 bytes): such a mention gets an empty vector and search_words, its tokens as an array
-- (text, '', handle), which listener_phrase reads. Search reads the one or the other.
ALTER TABLE mentions
    ADD COLUMN search_vector tsvector,
    ADD COLUMN search_words text[],
    -- urlsplit(url).hostname, lower-cased, by the application: what site: compares
    ADD COLUMN url_host text;
CREATE INDEX mentions_search ON mentions USING gin (search_vector);
CREATE INDEX mentions_search_long ON mentions (created_at) WHERE search_words IS NOT NULL;
-- author: without a network (mentions_handle_key leads with the network)
CREATE INDEX mentions_handle ON mentions (author_handle_key) WHERE author_handle_key <> '';

-- Whether the tokens ``words`` hold the tokens ``needle`` in a row (the last one as a prefix
-- when ``prefix``): FTS5's phrase, for the mentions a tsvector cannot hold. '' separates the
-- text from the handle and is never a token, so no phrase spans the two.
CREATE FUNCTION listener_phrase(words text[], needle text[], prefix boolean) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT cardinality(needle) > 0 AND EXISTS (
        SELECT 1 FROM generate_series(1, cardinality(words) - cardinality(needle) + 1) AS i
        WHERE words[i:i + cardinality(needle) - 2] = needle[1:cardinality(needle) - 1]
          AND CASE WHEN prefix THEN starts_with(words[i + cardinality(needle) - 1], needle[cardinality(needle)])
                   ELSE words[i + cardinality(needle) - 1] = needle[cardinality(needle)] END)
$$;
