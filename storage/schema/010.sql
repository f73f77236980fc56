-- the own-account guard reads an account's own posts by handle or by id.
CREATE INDEX IF NOT EXISTS mentions_own_handle ON mentions (network, lower(author_handle), created_at);
CREATE INDEX IF NOT EXISTS mentions_own_id ON mentions (network, author_id, created_at);
