-- A ticket's words for search in a table of their own beside the ticket,
-- not in a column of its row. On PostgreSQL an update that changes an
-- indexed column writes a new version of the row with a new entry in every
-- index of the table, and every reply moves `last_activity_at`, which the
-- ticket lists are ordered by: with the subject's vector on the row, every
-- reply, note, status change or assignment computed the vector again and
-- put each word of the subject into the GIN index again. Here the words are
-- written when a ticket is opened or its subject changes, and at no other
-- time. Engine bench, alternated runs: a reply 927-1,026 a second before,
-- 1,113-1,251 after; an opening unchanged (752-784 before, 806-818
-- after). SQLite's subjects were already apart (tickets_fts, 0009).

create table ticket_words (
    ticket_id bigint primary key references tickets (id) on delete cascade,
    search tsvector not null
);
insert into ticket_words (ticket_id, search) select id, search from tickets;
create index ticket_words_search on ticket_words using gin (search) with (fastupdate = off);

-- the vector as 0009 computed it, and its words for prefixes (0013).
create function ticket_words_set() returns trigger language plpgsql as $$
declare
    words tsvector := to_tsvector('simple', regexp_replace(new.subject, '[[:punct:][:space:]]+', ' ', 'g'));
begin
    insert into ticket_words (ticket_id, search) values (new.id, words)
        on conflict (ticket_id) do update set search = excluded.search;
    insert into search_lexemes (word)
        select unnest(tsvector_to_array(words)) on conflict do nothing;
    return null;
end
$$;

drop trigger tickets_lexemes on tickets;
drop index tickets_search;
alter table tickets drop column search;
create trigger tickets_words after insert or update of subject on tickets
    for each row execute function ticket_words_set();
