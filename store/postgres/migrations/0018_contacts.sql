-- Contacts are private address books: one row per contact, owned by a user
-- and gone with them. E-mails and phones are JSON lists of {type, value}
-- (NULL = not given); they are matched to users when read, by
-- samagate_fold against the users' unique e-mail and phone keys, so
-- nothing here changes when a user signs up, edits or leaves. seq orders
-- contacts changed in the same millisecond by when they were added.
CREATE TABLE contacts (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         TEXT COLLATE "C" NOT NULL UNIQUE,
    org_id     TEXT COLLATE "C" NOT NULL,
    owner_id   TEXT COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    first_name TEXT,
    last_name  TEXT,
    company    TEXT,
    email      TEXT,
    phone      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contacts_owner_updated ON contacts (owner_id, updated_at, seq);
