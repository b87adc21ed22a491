-- full-text search over ticket subjects and message bodies: FTS5 indexes
-- over the tables' own text (external content), kept by triggers in the
-- same transaction as the write. keep in step with ../postgres/0009_search.sql.

create virtual table messages_fts using fts5(body, content='messages', content_rowid='id');
create trigger messages_fts_insert after insert on messages begin
    insert into messages_fts (rowid, body) values (new.id, new.body);
end;
create trigger messages_fts_delete after delete on messages begin
    insert into messages_fts (messages_fts, rowid, body) values ('delete', old.id, old.body);
end;
create trigger messages_fts_update after update of body on messages begin
    insert into messages_fts (messages_fts, rowid, body) values ('delete', old.id, old.body);
    insert into messages_fts (rowid, body) values (new.id, new.body);
end;
insert into messages_fts (messages_fts) values ('rebuild');

create virtual table tickets_fts using fts5(subject, content='tickets', content_rowid='id');
create trigger tickets_fts_insert after insert on tickets begin
    insert into tickets_fts (rowid, subject) values (new.id, new.subject);
end;
create trigger tickets_fts_delete after delete on tickets begin
    insert into tickets_fts (tickets_fts, rowid, subject) values ('delete', old.id, old.subject);
end;
create trigger tickets_fts_update after update of subject on tickets begin
    insert into tickets_fts (tickets_fts, rowid, subject) values ('delete', old.id, old.subject);
    insert into tickets_fts (rowid, subject) values (new.id, new.subject);
end;
insert into tickets_fts (tickets_fts) values ('rebuild');
