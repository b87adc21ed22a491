-- Links sent by e-mail that act once and expire: portal sign-in, and
-- accepting or declining a delegate invitation. Only a hash of the token
-- is kept.
create table link_tokens (
    token_hash text primary key,
    -- 'sign_in', 'accept' or 'decline'.
    purpose text not null check (purpose in ('sign_in', 'accept', 'decline')),
    -- the address the link was mailed to: following it proves the mailbox.
    email text not null,
    -- the invitation an 'accept' or 'decline' link answers.
    delegate_id bigint references delegates (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);

-- Mail problems of a ticket, shown to staff: mail that could never be
-- delivered (the server refused the mailbox), and replies by e-mail that
-- were refused (a sender who does not own the reply address).
create table mail_failures (
    id bigint generated always as identity primary key,
    ticket_id bigint not null references tickets (id),
    address text not null,
    reason text not null,
    created_at bigint not null
);
create index mail_failures_by_ticket on mail_failures (ticket_id);
