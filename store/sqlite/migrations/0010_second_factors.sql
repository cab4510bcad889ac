-- Second factors: a TOTP secret per user (enabled once confirmed; the last
-- used time step is the replay guard) and one-time recovery codes, hashed.
CREATE TABLE totp (
    user_id   TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret    TEXT NOT NULL,
    enabled   INTEGER NOT NULL DEFAULT 0,
    last_step BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE recovery_codes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    hash    TEXT NOT NULL,
    PRIMARY KEY (user_id, hash)
);
