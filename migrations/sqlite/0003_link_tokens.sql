-- Links sent by e-mail that act once and expire: portal sign-in, and
-- accepting a delegate invitation. Only a hash of the token is kept.
create table link_tokens (
    token_hash text primary key,
    -- 'sign_in' or 'accept'.
    purpose text not null check (purpose in ('sign_in', 'accept')),
    -- the address the link was mailed to: following it proves the mailbox.
    email text not null,
    -- the invitation an 'accept' link answers.
    delegate_id bigint references delegates (id),
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint
);
