-- Ids are compared and ordered byte-wise (COLLATE "C"), as in SQLite and Go;
-- times are unix milliseconds (0 = none), as in SQLite.
CREATE TABLE organizations (
    id         TEXT COLLATE "C" PRIMARY KEY,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

INSERT INTO organizations (id, name, created_at, updated_at)
VALUES ('default', 'Default', (extract(epoch FROM now()) * 1000)::BIGINT, (extract(epoch FROM now()) * 1000)::BIGINT);

CREATE TABLE users (
    id              TEXT COLLATE "C" PRIMARY KEY,
    org_id          TEXT COLLATE "C" NOT NULL REFERENCES organizations(id),
    login           TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    first_name      TEXT NOT NULL DEFAULT '',
    last_name       TEXT NOT NULL DEFAULT '',
    avatar_object   TEXT,
    password_hash   TEXT NOT NULL,
    recent_activity BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_login ON users (org_id, lower(login));
CREATE UNIQUE INDEX users_email ON users (org_id, lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_phone ON users (org_id, lower(phone)) WHERE phone IS NOT NULL;

CREATE TABLE sessions (
    id           TEXT COLLATE "C" PRIMARY KEY,
    user_id      TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id       TEXT COLLATE "C" NOT NULL,
    device_id    TEXT COLLATE "C" NOT NULL,
    addr         TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user_device ON sessions (user_id, device_id);

CREATE TABLE refresh_tokens (
    hash        TEXT COLLATE "C" PRIMARY KEY,
    session_id  TEXT COLLATE "C" NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT NOT NULL DEFAULT 0,
    replaced_by TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
