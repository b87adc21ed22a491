-- Microsoft Teams: people are known there too.
alter table identities drop constraint identities_platform_check;
alter table identities add constraint identities_platform_check
    check (platform in ('slack', 'discord', 'teams', 'web', 'email'));
