CREATE TABLE messages (
    id                   TEXT COLLATE "C" PRIMARY KEY,
    conversation_id      TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    from_id              TEXT COLLATE "C" NOT NULL,
    body                 TEXT NOT NULL DEFAULT '',
    x                    TEXT,
    attachments          TEXT,
    replied_message_id   TEXT COLLATE "C" NOT NULL DEFAULT '',
    forwarded_message_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    t                    BIGINT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- The event log: one row per event, however many recipients.
CREATE TABLE events (
    id              TEXT COLLATE "C" PRIMARY KEY,
    conversation_id TEXT COLLATE "C",
    user_id         TEXT COLLATE "C",
    payload         TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX events_conversation ON events (conversation_id, id) WHERE conversation_id IS NOT NULL;
CREATE INDEX events_user ON events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX events_created ON events (created_at);
