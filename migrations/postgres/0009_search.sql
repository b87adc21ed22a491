-- full-text search over ticket subjects and message bodies: each row keeps
-- its text's tsvector in a generated column (PostgreSQL computes it in the
-- same transaction as the write), with a GIN index over it. keep in step
-- with ../sqlite/0009_search.sql (FTS5 tables there).
--
-- punctuation becomes a space before the words are taken, so that an
-- address or a version (ann@example.com, v1.2) is words, as SQLite's
-- tokenizer reads it. the column, not an index expression: a search that
-- walks a person's own messages, or the newest ones, reads the stored
-- vector instead of computing it again for every row.
--
-- new rows wait in the index's pending list until it is merged; every
-- search reads that list through. 256 kB (not the default 4 MB) keeps that
-- read short: with 1,000,000 messages a search took about 30 ms with a
-- full 4 MB list and under 1 ms with none.

alter table messages add column search tsvector generated always as
    (to_tsvector('simple', regexp_replace(body, '[[:punct:][:space:]]+', ' ', 'g'))) stored;
create index messages_search on messages using gin (search) with (gin_pending_list_limit = 256);
alter table tickets add column search tsvector generated always as
    (to_tsvector('simple', regexp_replace(subject, '[[:punct:][:space:]]+', ' ', 'g'))) stored;
create index tickets_search on tickets using gin (search) with (gin_pending_list_limit = 256);
