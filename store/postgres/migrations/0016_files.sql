-- files holds attachment metadata: what the uploader declared at
-- create_files; the bytes live in object storage under the id. attached_at
-- stays 0 until a message carries the file; such files are deleted after a
-- day. file_links says which messages carry a file: while such a message
-- exists, the participants of its conversation may download the file (a
-- message deleted for everyone takes its links' access with it).
CREATE TABLE files (
    id           TEXT COLLATE "C" PRIMARY KEY,
    org_id       TEXT COLLATE "C" NOT NULL,
    uploader_id  TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    attached_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX files_unattached ON files (created_at) WHERE attached_at = 0;

CREATE TABLE file_links (
    file_id         TEXT COLLATE "C" NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    conversation_id TEXT COLLATE "C" NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    message_id      TEXT COLLATE "C" NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (file_id, message_id)
);
CREATE INDEX file_links_conversation ON file_links (conversation_id);
