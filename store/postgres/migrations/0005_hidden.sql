-- Messages a user deleted for themselves only (message_delete type "myself").
CREATE TABLE hidden_messages (
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (message_id, user_id)
);
