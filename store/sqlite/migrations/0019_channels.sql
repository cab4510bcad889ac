-- Channels (type 'c') are found by name across their organization
-- (conversation_search), not only through the searcher's own participant
-- rows: this index lists an organization's channels, newest activity first.
CREATE INDEX conversations_channels ON conversations (org_id, last_pos) WHERE type = 'c';
