-- A customer thread shared by the requester and the people following the
-- ticket (a Discord private ticket thread) is its own kind of surface,
-- 'shared', owned by nobody: who may read it is decided per member.
alter table surfaces drop constraint surfaces_audience_check;
alter table surfaces drop constraint surfaces_check;
alter table surfaces add constraint surfaces_audience_check
    check (audience in ('staff', 'person', 'shared'));
-- a person's surface belongs to exactly one person, the others to nobody.
alter table surfaces add constraint surfaces_check
    check ((audience = 'person') = (person_id is not null));

-- Who is in a shared surface's thread: the people the bot added (the
-- requester, accepted delegates, company admins who followed) and those who
-- joined by writing there. A member who loses access to the ticket is
-- removed from the thread and gets `removed_at`; nothing reaches them after.
create table surface_members (
    surface_id bigint not null references surfaces (id),
    person_id bigint not null references people (id),
    added_at bigint not null,
    removed_at bigint,
    primary key (surface_id, person_id)
);
create index surface_members_person on surface_members (person_id);

-- Until now a Discord ticket thread was recorded as the card of the person
-- it was made for (the requester, or a delegate when the requester was not
-- on Discord): that person is its first member, with the accepted delegates
-- known on Discord, and the thread becomes shared.
-- (one whose thread had ended, a delegate's revoked, is a member who left,
-- and the thread is live again for whoever joins it next).
insert into surface_members (surface_id, person_id, added_at, removed_at)
select s.id, s.person_id, s.created_at, s.closed_at from surfaces s
where s.platform = 'discord' and s.audience = 'person';
insert into surface_members (surface_id, person_id, added_at)
select s.id, d.person_id, s.created_at from surfaces s
join delegates d on d.ticket_id = s.ticket_id and d.status = 'accepted'
where s.platform = 'discord' and s.audience = 'person' and s.closed_at is null
  and d.person_id <> s.person_id
  and exists (select 1 from identities i where i.person_id = d.person_id and i.platform = 'discord');
update surfaces set audience = 'shared', person_id = null
where platform = 'discord' and audience = 'person';
update surfaces set closed_at = null where audience = 'shared';
