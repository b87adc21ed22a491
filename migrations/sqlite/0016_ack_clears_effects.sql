-- Acknowledging an event (deleting its delivery) forgets that consumer's
-- steps of it in the same statement: one write, and no moment in which
-- one is gone and the other not.
create trigger outbox_deliveries_done after delete on outbox_deliveries
begin
    delete from outbox_effects where consumer = old.consumer and event_id = old.event_id;
end;
