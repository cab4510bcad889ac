-- Commit-order positions for the event log. Ids are made by the writer before
-- it commits, so id order is not the order in which events became visible;
-- catch-up follows pos instead. SQLite serializes writers, so rowid order is
-- commit order; AUTOINCREMENT keeps a pos from being reused once the newest
-- rows are pruned. SQLite cannot add a primary key to a table: rebuild it,
-- existing rows in id order (the order catch-up used until now).
CREATE TABLE events_new (
    pos             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT,
    user_id         TEXT,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
INSERT INTO events_new (id, conversation_id, user_id, payload, created_at)
    SELECT id, conversation_id, user_id, payload, created_at FROM events ORDER BY id;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_conversation ON events (conversation_id, pos) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, pos) WHERE user_id IS NOT NULL;
CREATE INDEX events_created ON events (created_at);
