-- staff's saved replies: named texts, for the whole team or one department,
-- with placeholders filled when used ({name}, {first_name}, {ticket}).
-- keep in step with ../sqlite/0011_saved_replies.sql.
create table saved_replies (
    id bigint generated always as identity primary key,
    name text not null,
    body text not null,
    -- null: the whole team's.
    department_id bigint references departments (id),
    updated_by bigint not null references people (id),
    created_at bigint not null,
    updated_at bigint not null
);
-- one name per department (and one team-wide), whatever its case.
create unique index saved_replies_name on saved_replies (lower(name), coalesce(department_id, 0));
