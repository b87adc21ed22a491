-- One index entry fewer for every reply on a ticket of no organization.
-- keep in step with ../sqlite/0019_fewer_pages_per_write.sql (there, it
-- also stops the search indexes keeping text lengths; PostgreSQL's search
-- keeps none).

-- the organizations' ticket index holds only tickets of an organization:
-- the others (most) sat in it under null, which no query reads, and every
-- reply (an update that changes an indexed column) added an entry for
-- them.
drop index tickets_org;
create index tickets_org on tickets (org_id, is_closed, last_activity_at desc, id desc) where org_id is not null;
