CREATE TABLE organizations (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

INSERT INTO organizations (id, name, created_at, updated_at)
VALUES ('default', 'Default', CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER));

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations(id),
    login           TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    avatar_object   TEXT,
    password_hash   TEXT NOT NULL,
    recent_activity INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX users_login ON users (org_id, login COLLATE NOCASE);
CREATE UNIQUE INDEX users_email ON users (org_id, email COLLATE NOCASE) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_phone ON users (org_id, phone COLLATE NOCASE) WHERE phone IS NOT NULL;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id       TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    addr         TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user_device ON sessions (user_id, device_id);

CREATE TABLE refresh_tokens (
    hash        TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER NOT NULL DEFAULT 0,
    replaced_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
