-- Chat requests acknowledged before they are handled: a slash command or a
-- form submission is written here, durably, before the platform gets its
-- acknowledgement, and removed once it is handled and answered. A crash in
-- between loses nothing: any process takes a request up again once its
-- lease (available_at) has lapsed.
create table inbound_requests (
    request_key text primary key,
    platform text not null,
    payload text not null,
    received_at bigint not null,
    available_at bigint not null,
    attempts bigint not null default 0,
    last_error text,
    -- set when handling gave up; such a request is kept for a look, not retried.
    failed_at bigint
);
create index inbound_requests_due on inbound_requests (platform, available_at) where failed_at is null;
