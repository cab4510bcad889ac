-- Commit-order positions for the event log. Ids are made by each node before
-- it commits, so with several nodes id order is not the order in which events
-- became visible; catch-up follows pos instead. Commit allocates positions
-- under an advisory lock (store/postgres/messages.go), so pos order is
-- visibility order. Existing rows get positions in id order (the order
-- catch-up used until now); new rows take them from the identity sequence.
ALTER TABLE events ADD COLUMN pos BIGINT;
UPDATE events SET pos = ordered.n
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM events) AS ordered
    WHERE events.id = ordered.id;
ALTER TABLE events ALTER COLUMN pos SET NOT NULL;
ALTER TABLE events ALTER COLUMN pos ADD GENERATED ALWAYS AS IDENTITY;
SELECT setval(pg_get_serial_sequence('events', 'pos'), COALESCE(MAX(pos), 0) + 1, false) FROM events;
ALTER TABLE events ADD CONSTRAINT events_pos_key UNIQUE (pos);
DROP INDEX events_conversation;
DROP INDEX events_user;
CREATE INDEX events_conversation ON events (conversation_id, pos) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, pos) WHERE user_id IS NOT NULL;
