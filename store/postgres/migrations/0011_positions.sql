-- Commit positions (store.Pos), replacing the advisory lock of 0007. Every
-- commit takes the next number of commit_seq, without a lock, and gives its
-- events and messages positions seq << 16 | i; history, read marks, the log
-- and conversation lists follow positions, not ids (ids from several nodes
-- do not sort in commit order). A writer inserts its row of commits first,
-- in the statement that takes the number; a reader that waited too long for
-- a number inserts it as void (ResolveCommit): whichever row exists first
-- decides the number for good (store/postgres/commit.go).
--
-- Existing data keeps its order: each old event is its own legacy commit
-- (its old pos), and messages, which were ordered by id, get commits in id
-- order; read marks move from message ids to the positions of those
-- messages.
CREATE TABLE commits (
    seq  BIGINT PRIMARY KEY,
    void BOOLEAN NOT NULL DEFAULT false,
    at   BIGINT NOT NULL
);
INSERT INTO commits (seq, void, at)
    SELECT n, false, (extract(epoch FROM now()) * 1000)::BIGINT
    FROM generate_series(1, GREATEST((SELECT COUNT(*) FROM messages), (SELECT COALESCE(MAX(pos), 0) FROM events))) AS n;
-- seq << 16 stays within BIGINT.
CREATE SEQUENCE commit_seq AS BIGINT MAXVALUE 140737488355327;
SELECT setval('commit_seq', COALESCE(MAX(seq), 1), MAX(seq) IS NOT NULL) FROM commits;

-- Events: positions from commits now, no longer from the identity. The
-- unique constraint goes while positions move (it is checked row by row),
-- and comes back as the index ResolveCommit reads a commit's range with.
-- ref_id is the message an edit event concerns. A redacted event keeps its
-- row (its id keeps its position) with the payload ''.
ALTER TABLE events ALTER COLUMN pos DROP IDENTITY;
ALTER TABLE events DROP CONSTRAINT events_pos_key;
UPDATE events SET pos = pos << 16;
CREATE UNIQUE INDEX events_pos ON events (pos);
ALTER TABLE events ADD COLUMN ref_id TEXT COLLATE "C";
CREATE INDEX events_ref ON events (ref_id) WHERE ref_id IS NOT NULL;

-- Messages: the position of their event; client_id makes a retried send
-- land once.
ALTER TABLE messages ADD COLUMN pos BIGINT NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN client_id TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE messages SET pos = ordered.n << 16
    FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM messages) AS ordered
    WHERE messages.id = ordered.id;
ALTER TABLE messages ALTER COLUMN pos DROP DEFAULT;
DROP INDEX messages_conversation;
CREATE UNIQUE INDEX messages_pos ON messages (conversation_id, pos);
CREATE UNIQUE INDEX messages_client ON messages (conversation_id, from_id, client_id) WHERE client_id <> '';
-- message_list pages from a message's creation time (ConversationMessages).
CREATE INDEX messages_created ON messages (conversation_id, created_at);

-- Read marks: the position read up to. Legacy positions follow id order, so
-- the largest position of a message with an id up to the old mark is that
-- message's position, or, when it is gone, the one before it.
ALTER TABLE read_marks ADD COLUMN last_read_pos BIGINT NOT NULL DEFAULT 0;
UPDATE read_marks SET last_read_pos = COALESCE((SELECT MAX(m.pos) FROM messages m
    WHERE m.conversation_id = read_marks.conversation_id AND m.id <= read_marks.last_read_id), 0);
ALTER TABLE read_marks DROP COLUMN last_read_id;

-- Conversation lists order by the newest activity's position; members see
-- the log from the position they joined at (0: everything retained).
ALTER TABLE conversations ADD COLUMN last_pos BIGINT NOT NULL DEFAULT 0;
UPDATE conversations SET last_pos = COALESCE((SELECT MAX(m.pos) FROM messages m WHERE m.conversation_id = conversations.id), 0);
ALTER TABLE participants ADD COLUMN joined_pos BIGINT NOT NULL DEFAULT 0;

-- Node numbers (store.Messages.NodeNumber), never reused.
CREATE SEQUENCE node_seq AS BIGINT;
