-- Fewer pages written by every reply and every new ticket: a commit waits
-- until what it wrote is on disk, and a reply wrote about 21 pages where
-- a one-row insert writes 2; now 18 (`cargo bench -p threadesk-core` prints it as
-- `reply_log_kib`). keep in step with ../postgres/0019_fewer_pages_per_write.sql.

-- the organizations' ticket index holds only tickets of an organization:
-- the others (most) sat in it under null, which no query reads, and every
-- reply moved their entry with the last activity.
drop index tickets_org;
create index tickets_org on tickets (org_id, is_closed, last_activity_at desc, id desc) where org_id is not null;

-- search no longer keeps each text's length (FTS5's `columnsize`, one
-- more table written with every message and ticket), which only ranking
-- by relevance reads: search lists the newest first
-- (core/src/engine/search.rs). The indexes are built again from the rows.
drop trigger messages_fts_insert;
drop trigger messages_fts_delete;
drop trigger messages_fts_update;
drop table messages_fts;
create virtual table messages_fts using fts5(body, content='messages', content_rowid='id', columnsize=0);
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

drop trigger tickets_fts_insert;
drop trigger tickets_fts_delete;
drop trigger tickets_fts_update;
drop table tickets_fts;
create virtual table tickets_fts using fts5(subject, content='tickets', content_rowid='id', columnsize=0);
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
