-- Where a ticket is followed on a chat platform: a card (root message) whose
-- thread holds the conversation, kept for the staff side or for one person.
-- Adapters mirror every change of a ticket to its live surfaces, each as its
-- audience may see it; the engine still checks every read and write.
create table surfaces (
    id bigint generated always as identity primary key,
    ticket_id bigint not null references tickets (id),
    platform text not null,
    workspace text not null,
    channel text not null,
    -- the card's platform message id (a Slack ts, a Discord snowflake).
    card_id text not null,
    -- 'staff': the triage side; 'person': one customer's own card.
    audience text not null check (audience in ('staff', 'person')),
    person_id bigint references people (id),
    -- set when the person lost access (a revoked delegate): nothing more is
    -- mirrored there and replies from it are refused by the engine anyway.
    closed_at bigint,
    created_at bigint not null,
    unique (platform, workspace, channel, card_id),
    -- a staff surface belongs to nobody, a person's surface to exactly one.
    check ((audience = 'staff') = (person_id is null))
);
-- one card per ticket, platform and audience: a redelivered event finds it.
create unique index surfaces_one_per_audience
    on surfaces (ticket_id, platform, audience, coalesce(person_id, 0));

-- 1 when a person wrote the platform message (the bot cannot edit it), 0
-- when the bot posted it as a mirror.
alter table platform_links add column authored bigint not null default 0 check (authored in (0, 1));

-- People who are staff because a platform says so (members of a Slack
-- staff channel, holders of a Discord staff role): they stop being staff
-- when the platform stops saying so. Staff granted by a command have no row
-- here and are left alone.
create table platform_staff (
    person_id bigint not null references people (id),
    platform text not null,
    primary key (person_id, platform)
);

-- What an outbox consumer already did for an event, step by step, so an
-- event handed out again after a partial failure repeats no step (a line
-- posted in a thread, say).
create table outbox_effects (
    consumer text not null,
    event_id bigint not null references outbox_events (id),
    effect text not null,
    primary key (consumer, event_id, effect)
);
