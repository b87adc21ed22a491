-- after the answer (core/src/autoclose.rs, core/src/engine/ratings.rs):
-- closing tickets whose customer went quiet, and the requester's rating.
-- keep in step with ../sqlite/0014_after_the_answer.sql.

-- the next automatic step of a ticket waiting on its customer: when it is
-- due, and which (0: remind, 1: close). null while the ticket does not
-- wait on its customer or no period applies. staff may pause it.
alter table tickets add column auto_close_at bigint;
alter table tickets add column auto_close_stage integer not null default 0;
alter table tickets add column auto_close_paused integer not null default 0;
-- the worker's claim: the earliest due first, among the few that have one.
create index tickets_auto_close on tickets (auto_close_at) where auto_close_at is not null;

-- one rating per ticket, by its requester, changeable for a while after
-- closing (the engine decides how long).
create table ratings (
    ticket_id bigint primary key references tickets (id),
    score integer not null check (score between 1 and 5),
    comment text,
    rated_by bigint not null references people (id),
    created_at bigint not null,
    updated_at bigint not null
);
create index ratings_updated on ratings (updated_at);

-- a rating link mailed with the closing notice: works once, without
-- signing in, until the rating can no longer be changed. only the token's
-- SHA-256 is kept.
create table rating_links (
    token_hash text primary key,
    ticket_id bigint not null references tickets (id),
    person_id bigint not null references people (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
