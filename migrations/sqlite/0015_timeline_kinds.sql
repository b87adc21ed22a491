-- the history's kinds now include automatic-closing reminders and pauses,
-- and ratings (core/src/timeline.rs, KINDS): the partial index follows,
-- or the history's query could no longer use it. keep in step with
-- ../postgres/0015_timeline_kinds.sql and the query in core/src/engine/queries.rs.
drop index outbox_events_timeline;
create index outbox_events_timeline on outbox_events (ticket_id, id)
    where kind in ('status_changed', 'subject_edited', 'owner_changed', 'ticket_moved', 'delegate_invited', 'delegate_accepted', 'delegate_declined', 'delegate_revoked', 'ticket_closed', 'auto_close_reminder', 'auto_close_paused', 'ticket_rated');
