CREATE TABLE conversations (
    id          TEXT COLLATE "C" PRIMARY KEY,
    org_id      TEXT COLLATE "C" NOT NULL REFERENCES organizations(id),
    type        TEXT NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    owner_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    opponent_id TEXT COLLATE "C" NOT NULL DEFAULT '',
    pair_key    TEXT COLLATE "C",
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX conversations_pair ON conversations (org_id, pair_key) WHERE pair_key IS NOT NULL;

CREATE TABLE participants (
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    user_id         TEXT COLLATE "C" NOT NULL,
    role            TEXT NOT NULL DEFAULT '',
    joined_at       BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX participants_user ON participants (user_id);
