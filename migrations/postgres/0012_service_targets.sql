-- service targets (core/src/service.rs): since when a ticket has waited for
-- staff, when staff first answered, and when they should answer by. keep
-- in step with ../sqlite/0012_service_targets.sql.
alter table tickets add column waiting_since bigint;
alter table tickets add column first_response_at bigint;
alter table tickets add column due_at bigint;
update tickets set waiting_since = last_activity_at where status in ('open', 'client_replied');
update tickets set first_response_at = (select min(m.created_at) from messages m
    where m.ticket_id = tickets.id and m.author_role = 'staff' and m.internal = 0);

-- the staff queue: waiting tickets first, the soonest due first, then the
-- newest activity. the rank expression is the queue query's
-- (core/src/engine/queries.rs, QUEUE_RANK): keep them the same.
drop index tickets_queue;
create index tickets_queue on tickets (is_closed,
    (case when needs_staff = 1 then -coalesce(due_at, 4611686018427387904) else -4611686018427387905 end) desc,
    last_activity_at desc, id desc);
