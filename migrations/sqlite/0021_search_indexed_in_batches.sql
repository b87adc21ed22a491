-- Words go into the search indexes in batches shortly after they are
-- written, not inside the write: FTS5 writes a new segment of an index at
-- every commit that added words to it, which took a fifth of a reply's
-- time on SQLite (2,390 replies a second with it, 2,965 without). Search
-- never misses anything: it first indexes what is left
-- (Engine::index_new_words, core/src/engine/search.rs), and the server
-- does so every second in between.
-- Every message (ticket) with an id at most `messages` (`tickets`) is in
-- its index, and none above it.
create table search_indexed (
    id integer primary key check (id = 1),
    messages bigint not null,
    tickets bigint not null
);
insert into search_indexed (id, messages, tickets)
select 1, (select coalesce(max(id), 0) from messages), (select coalesce(max(id), 0) from tickets);

-- an edit (or a removal) of what is not yet indexed leaves the index as it
-- is: its batch reads the text as it is then.
drop trigger messages_fts_insert;
drop trigger messages_fts_delete;
drop trigger messages_fts_update;
create trigger messages_fts_delete after delete on messages
when old.id <= (select messages from search_indexed) begin
    insert into messages_fts (messages_fts, rowid, body) values ('delete', old.id, old.body);
end;
create trigger messages_fts_update after update of body on messages
when old.id <= (select messages from search_indexed) begin
    insert into messages_fts (messages_fts, rowid, body) values ('delete', old.id, old.body);
    insert into messages_fts (rowid, body) values (new.id, new.body);
end;

drop trigger tickets_fts_insert;
drop trigger tickets_fts_delete;
drop trigger tickets_fts_update;
create trigger tickets_fts_delete after delete on tickets
when old.id <= (select tickets from search_indexed) begin
    insert into tickets_fts (tickets_fts, rowid, subject) values ('delete', old.id, old.subject);
end;
create trigger tickets_fts_update after update of subject on tickets
when old.id <= (select tickets from search_indexed) begin
    insert into tickets_fts (tickets_fts, rowid, subject) values ('delete', old.id, old.subject);
    insert into tickets_fts (rowid, subject) values (new.id, new.subject);
end;
