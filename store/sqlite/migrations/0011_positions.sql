-- Commit positions (store.Pos). Every commit takes the next number of the
-- commits table and gives its events and messages positions seq << 16 | i;
-- history, read marks, the log and conversation lists follow positions, not
-- ids (ids from several nodes do not sort in commit order). A row of commits
-- records each number used; void marks a number that ResolveCommit decided
-- was never used. AUTOINCREMENT never hands a number out twice, even once
-- the newest rows are pruned.
--
-- Existing data keeps its order: each old event is its own legacy commit
-- (its old pos), and messages, which were ordered by id, get commits in id
-- order; read marks move from message ids to the positions of those
-- messages.
CREATE TABLE commits (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    void INTEGER NOT NULL DEFAULT 0,
    at   INTEGER NOT NULL
);
WITH RECURSIVE legacy (n) AS (
    SELECT 1 WHERE MAX((SELECT COUNT(*) FROM messages), (SELECT COALESCE(MAX(pos), 0) FROM events)) > 0
    UNION ALL
    SELECT n + 1 FROM legacy
    WHERE n < MAX((SELECT COUNT(*) FROM messages), (SELECT COALESCE(MAX(pos), 0) FROM events))
)
INSERT INTO commits (seq, void, at) SELECT n, 0, CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM legacy;

-- Events: positions from commits now, so no AUTOINCREMENT; ref_id is the
-- message an edit event concerns. A redacted event keeps its row (its id
-- keeps its position) with the payload ''.
CREATE TABLE events_new (
    pos             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    conversation_id TEXT,
    user_id         TEXT,
    ref_id          TEXT,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);
INSERT INTO events_new (pos, id, conversation_id, user_id, payload, created_at)
    SELECT pos << 16, id, conversation_id, user_id, payload, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_conversation ON events (conversation_id, pos) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, pos) WHERE user_id IS NOT NULL;
CREATE INDEX events_ref ON events (ref_id) WHERE ref_id IS NOT NULL;
CREATE INDEX events_created ON events (created_at);

-- Messages: the position of their event; client_id makes a retried send
-- land once.
ALTER TABLE messages ADD COLUMN pos INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
UPDATE messages SET pos = ordered.n << 16
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM messages) AS ordered
    WHERE messages.id = ordered.id;
DROP INDEX messages_conversation;
CREATE UNIQUE INDEX messages_pos ON messages (conversation_id, pos);
CREATE UNIQUE INDEX messages_client ON messages (conversation_id, from_id, client_id) WHERE client_id <> '';
-- message_list pages from a message's creation time (ConversationMessages).
CREATE INDEX messages_created ON messages (conversation_id, created_at);

-- Read marks: the position read up to. Legacy positions follow id order, so
-- the largest position of a message with an id up to the old mark is that
-- message's position, or, when it is gone, the one before it.
ALTER TABLE read_marks ADD COLUMN last_read_pos INTEGER NOT NULL DEFAULT 0;
UPDATE read_marks SET last_read_pos = COALESCE((SELECT MAX(m.pos) FROM messages m
    WHERE m.conversation_id = read_marks.conversation_id AND m.id <= read_marks.last_read_id), 0);
ALTER TABLE read_marks DROP COLUMN last_read_id;

-- Conversation lists order by the newest activity's position; members see
-- the log from the position they joined at (0: everything retained).
ALTER TABLE conversations ADD COLUMN last_pos INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET last_pos = COALESCE((SELECT MAX(m.pos) FROM messages m WHERE m.conversation_id = conversations.id), 0);
ALTER TABLE participants ADD COLUMN joined_pos INTEGER NOT NULL DEFAULT 0;

-- Node numbers (store.Messages.NodeNumber): one counter, never reused.
CREATE TABLE node_numbers (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO node_numbers (id, n) VALUES (1, 0);
