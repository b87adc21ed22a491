-- A platform call that creates something (a card, a copy, a line, an
-- invitation, a mail) is written down here, under a key stable across
-- attempts, before it is made. A retry that finds its key here knows the
-- earlier attempt may have taken effect and asks the platform first.
-- Rows go once the result is recorded; those a crash left behind are swept
-- after a week.
create table delivery_intents (
    consumer text not null,
    intent text not null,
    opened_at bigint not null,
    primary key (consumer, intent)
);
create index delivery_intents_age on delivery_intents (opened_at);
