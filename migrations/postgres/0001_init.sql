-- threadesk schema, postgresql flavour. keep in step with ../sqlite/0001_init.sql.
-- times are microseconds since the unix epoch (utc) in bigint columns, so that
-- both backends order them the same way.

create table organizations (
    id bigint generated always as identity primary key,
    name text not null,
    created_at bigint not null
);
-- organization names are unique regardless of case.
create unique index organizations_name on organizations (lower(name));

create table people (
    id bigint generated always as identity primary key,
    display_name text not null,
    org_id bigint references organizations (id),
    is_staff bigint not null default 0 check (is_staff in (0, 1)),
    -- a company ticket admin sees every ticket of their organization.
    is_company_admin bigint not null default 0 check (is_company_admin in (0, 1)),
    created_at bigint not null
);
create index people_org on people (org_id);

-- one person may be known on several platforms; (platform, workspace, id) is
-- globally unique. e-mail and web identities use an empty workspace.
create table identities (
    platform text not null check (platform in ('slack', 'discord', 'web', 'email')),
    workspace text not null,
    external_id text not null,
    person_id bigint not null references people (id),
    created_at bigint not null,
    primary key (platform, workspace, external_id)
);
create index identities_person on identities (person_id);

create table departments (
    id bigint generated always as identity primary key,
    name text not null,
    active bigint not null default 1 check (active in (0, 1)),
    created_at bigint not null
);
create unique index departments_name on departments (lower(name));

-- gapless counters; the ticket number is what people say aloud (#1001).
create table counters (
    name text primary key,
    value bigint not null
);
insert into counters (name, value) values ('ticket_number', 1000);

create table tickets (
    id bigint generated always as identity primary key,
    number bigint not null unique,
    subject text not null,
    department_id bigint references departments (id),
    requester_id bigint not null references people (id),
    -- the requester's organization: company ticket admins of it see the ticket.
    org_id bigint references organizations (id),
    status text not null check (status in ('open', 'in_progress', 'on_hold', 'awaiting_client', 'client_replied', 'closed')),
    is_closed bigint generated always as (case when status = 'closed' then 1 else 0 end) stored,
    -- unanswered tickets (nobody on staff has answered the latest customer word).
    needs_staff bigint generated always as (case when status in ('open', 'client_replied') then 1 else 0 end) stored,
    version bigint not null default 0,
    created_at bigint not null,
    last_activity_at bigint not null,
    closed_at bigint
);
create index tickets_requester on tickets (requester_id, is_closed, last_activity_at desc, id desc);
create index tickets_org on tickets (org_id, is_closed, last_activity_at desc, id desc);
create index tickets_queue on tickets (is_closed, needs_staff desc, last_activity_at desc, id desc);
-- the staff queue filtered by department walks tickets_queue and skips other
-- departments' rows: open tickets are few, and every index here is one more
-- page written by every reply.

create table messages (
    -- the sequence is named so that a reply can take its id in the query that
    -- locks the ticket (see Engine::lock_ticket_for).
    id bigint generated always as identity (sequence name messages_id_seq) primary key,
    ticket_id bigint not null references tickets (id),
    author_id bigint not null references people (id),
    -- the author's role on the ticket when they wrote it.
    author_role text not null check (author_role in ('requester', 'delegate', 'company_admin', 'staff')),
    -- internal notes are visible to staff only.
    internal bigint not null default 0 check (internal in (0, 1)),
    body text not null,
    revision bigint not null default 1,
    created_at bigint not null,
    edited_at bigint
);
create index messages_ticket on messages (ticket_id, id);

-- every earlier body of an edited message; the current one is in messages.
create table message_revisions (
    message_id bigint not null references messages (id),
    revision bigint not null,
    body text not null,
    edited_by bigint not null references people (id),
    created_at bigint not null,
    primary key (message_id, revision)
);

-- metadata only: the bytes stay on the platform or in a blob store.
create table attachments (
    id bigint generated always as identity primary key,
    message_id bigint not null references messages (id),
    ticket_id bigint not null references tickets (id),
    name text not null,
    content_type text not null,
    size_bytes bigint not null check (size_bytes >= 0),
    url text not null
);
create index attachments_message on attachments (message_id);

create table delegates (
    id bigint generated always as identity primary key,
    ticket_id bigint not null references tickets (id),
    -- null while the invitation goes to an e-mail address nobody has yet.
    person_id bigint references people (id),
    email text,
    status text not null check (status in ('invited', 'accepted', 'declined', 'revoked')),
    invited_by bigint not null references people (id),
    created_at bigint not null,
    updated_at bigint not null,
    check (person_id is not null or email is not null)
);
create unique index delegates_ticket_person on delegates (ticket_id, person_id);
create unique index delegates_ticket_email on delegates (ticket_id, email);
create index delegates_person on delegates (person_id, status);
create index delegates_pending_email on delegates (email) where person_id is null;

-- the outbox: every change writes exactly one event in its own transaction.
-- a command sent with an idempotency key (an inbound platform event or
-- interaction id) keeps the key and its first result on that event, so the
-- same key twice performs the operation once.
create table outbox_events (
    id bigint generated always as identity primary key,
    ticket_id bigint,
    kind text not null,
    actor_id bigint,
    payload text not null,
    created_at bigint not null,
    idempotency_key text,
    operation text,
    response text,
    check ((idempotency_key is null) = (operation is null) and (idempotency_key is null) = (response is null))
);
create unique index outbox_events_idempotency_key on outbox_events (idempotency_key);

create table outbox_consumers (
    name text primary key,
    created_at bigint not null
);

-- one row per (consumer, event) until the consumer acknowledges it.
create table outbox_deliveries (
    consumer text not null references outbox_consumers (name),
    event_id bigint not null references outbox_events (id),
    -- events are handed out in order per key: the ticket, or 0 for the rest.
    ticket_key bigint not null,
    available_at bigint not null,
    attempts bigint not null default 0,
    last_error text,
    -- set when the consumer gave up; such a row no longer holds back its key.
    failed_at bigint,
    primary key (consumer, event_id)
);
create index outbox_deliveries_key on outbox_deliveries (consumer, ticket_key, event_id);

create function outbox_fan_out() returns trigger language plpgsql as $$
begin
    insert into outbox_deliveries (consumer, event_id, ticket_key, available_at)
    select name, new.id, coalesce(new.ticket_id, 0), new.created_at from outbox_consumers;
    return null;
end
$$;

create trigger outbox_events_fan_out after insert on outbox_events
for each row execute function outbox_fan_out();

-- where a ticket or one of its messages lives on a platform.
create table platform_links (
    id bigint generated always as identity primary key,
    ticket_id bigint not null references tickets (id),
    message_id bigint references messages (id),
    platform text not null,
    workspace text not null,
    channel text not null,
    platform_message_id text not null,
    created_at bigint not null,
    unique (platform, workspace, channel, platform_message_id)
);
create index platform_links_ticket on platform_links (ticket_id, message_id);
