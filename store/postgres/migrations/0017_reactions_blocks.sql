-- Reactions: one row per (message, user, reaction); deleting the message
-- deletes its reactions.
CREATE TABLE message_reactions (
    message_id TEXT COLLATE "C" NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    user_id    TEXT COLLATE "C" NOT NULL,
    reaction   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (message_id, user_id, reaction)
);

-- The block list: user_id has blocked blocked_id. A user in
-- block_list_off has turned their list off (block_list_enable false): their
-- rows stay but block nothing until it is turned on again.
CREATE TABLE user_blocks (
    user_id    TEXT COLLATE "C" NOT NULL,
    blocked_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, blocked_id)
);
CREATE INDEX user_blocks_blocked ON user_blocks (blocked_id, user_id);

CREATE TABLE block_list_off (
    user_id TEXT COLLATE "C" PRIMARY KEY
);
