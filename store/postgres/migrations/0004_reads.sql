-- Each member's read position in a conversation: the newest message id read.
CREATE TABLE read_marks (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         TEXT COLLATE "C" NOT NULL,
    last_read_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
