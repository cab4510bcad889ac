-- When each account last logged in: a person with accounts in several
-- organizations is offered the last one first (select_account).
ALTER TABLE users ADD COLUMN last_login_at BIGINT NOT NULL DEFAULT 0;
