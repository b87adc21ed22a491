-- Portal sessions live in signed cookies. Those ended before their time
-- (signed out) are kept here until they would have expired anyway; and per
-- person, when "sign out everywhere" was last asked (microseconds): a
-- session started before it is over. Every replica reads the same rows.
create table ended_sessions (
    nonce text primary key,
    expires_at bigint not null
);
create index ended_sessions_expiry on ended_sessions (expires_at);
alter table people add column sessions_since bigint not null default 0;
