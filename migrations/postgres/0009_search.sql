-- full-text search over ticket subjects and message bodies: GIN indexes on
-- the text's tsvector, maintained by PostgreSQL in the same transaction as
-- the write. keep in step with ../sqlite/0009_search.sql.
--
-- punctuation becomes a space before the words are taken, so that an
-- address or a version (ann@example.com, v1.2) is words, as SQLite's
-- tokenizer reads it; queries use this same expression (see
-- core/src/engine/search.rs), or the indexes are not used.

create index messages_search on messages
    using gin (to_tsvector('simple', regexp_replace(body, '[[:punct:][:space:]]+', ' ', 'g')));
create index tickets_search on tickets
    using gin (to_tsvector('simple', regexp_replace(subject, '[[:punct:][:space:]]+', ' ', 'g')));
