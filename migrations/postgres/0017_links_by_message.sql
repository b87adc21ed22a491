-- Where a message was posted is looked up by the message (every mirrored
-- reply and every edit asks): without an index of its own that lookup read
-- the whole table, so delivering a message cost more with every message
-- ever posted. Cards (no message) are not in it.
create index platform_links_message on platform_links (message_id) where message_id is not null;
