-- full-text search indexes the matcher's own tokens. unicode61 split some scripts
-- differently from listener.query.tokens (emoji glued to a word, kana with a voicing
-- mark, Korean, Hebrew and Arabic points, Telugu vowel signs), so a watch matched
-- mentions that search could not find. Now the triggers store listener_words (the
-- tokens joined by spaces, registered by ``migrate``) and the 'ascii' tokenizer only
-- splits them again: tokens hold no space or ASCII punctuation, and every other byte
-- is a token byte. The index keeps its own copy of the words, so a delete removes
-- exactly what was indexed even if a later listener (or Unicode) tokenizes differently.
DROP TRIGGER mentions_fts_ai;
DROP TRIGGER mentions_fts_ad;
DROP TRIGGER mentions_fts_au;
DROP TABLE mentions_fts;
CREATE VIRTUAL TABLE mentions_fts USING fts5 (text, author_handle, tokenize = 'ascii');
INSERT INTO mentions_fts (rowid, text, author_handle)
SELECT id, listener_words(text), listener_words(author_handle) FROM mentions;
CREATE TRIGGER mentions_fts_ai AFTER INSERT ON mentions BEGIN
    INSERT INTO mentions_fts (rowid, text, author_handle)
    VALUES (new.id, listener_words(new.text), listener_words(new.author_handle));
END;
CREATE TRIGGER mentions_fts_ad AFTER DELETE ON mentions BEGIN
    DELETE FROM mentions_fts WHERE rowid = old.id;
END;
-- Only a change of the indexed columns re-indexes: scoring sentiment or
-- refreshing engagement counts must stay cheap.
CREATE TRIGGER mentions_fts_au AFTER UPDATE OF text, author_handle ON mentions
WHEN old.text IS NOT new.text OR old.author_handle IS NOT new.author_handle BEGIN
    UPDATE mentions_fts SET text = listener_words(new.text), author_handle = listener_words(new.author_handle)
    WHERE rowid = new.id;
END;
