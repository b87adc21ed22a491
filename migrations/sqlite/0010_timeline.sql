-- a ticket's history of changes is its outbox events of these kinds
-- (core/src/timeline.rs, KINDS): this index finds them without reading
-- every reply's event. keep in step with ../postgres/0010_timeline.sql, and
-- the list in step with the query in core/src/engine/queries.rs.
create index outbox_events_timeline on outbox_events (ticket_id, id)
    where kind in ('status_changed', 'subject_edited', 'owner_changed', 'ticket_moved', 'delegate_invited', 'delegate_accepted', 'delegate_declined', 'delegate_revoked', 'ticket_closed');
