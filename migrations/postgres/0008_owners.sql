-- A ticket's owner: the member of staff handling it (one at a time, or
-- nobody). Staff lists filter and sort by it.
alter table tickets add column owner_id bigint references people (id);
create index tickets_owner on tickets (owner_id, is_closed, last_activity_at desc, id desc);
