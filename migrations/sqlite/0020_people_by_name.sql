-- the staff's people directory pages through people by name.
create index people_by_name on people (display_name, id);
