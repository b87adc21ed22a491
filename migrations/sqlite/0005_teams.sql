-- Microsoft Teams: people are known there too. SQLite cannot change a
-- check constraint, so the identities table is made again with it.
create table identities_new (
    platform text not null check (platform in ('slack', 'discord', 'teams', 'web', 'email')),
    workspace text not null,
    external_id text not null,
    person_id bigint not null references people (id),
    created_at bigint not null,
    primary key (platform, workspace, external_id)
);
insert into identities_new (platform, workspace, external_id, person_id, created_at)
    select platform, workspace, external_id, person_id, created_at from identities;
drop table identities;
alter table identities_new rename to identities;
create index identities_person on identities (person_id);
