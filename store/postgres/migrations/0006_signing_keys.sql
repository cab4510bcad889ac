-- Access-token signing keys, shared by every node that uses this database.
CREATE TABLE signing_keys (
    seq        INTEGER PRIMARY KEY,
    kid        TEXT NOT NULL UNIQUE,
    secret     BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
