-- Logins, e-mails and phones compare by samagate_fold() (store/sqlrow.Fold,
-- a Go function store/sqlite registers with the driver), the same key
-- PostgreSQL computes, so non-ASCII case ("Äsa" and "äSA") is unique and
-- found alike on both backends. NOCASE folded ASCII only: two accounts of
-- one organization may differ only in non-ASCII case. The newer one's login
-- gets "-" and the last 6 characters of its id, and its clashing e-mail or
-- phone is cleared, before the unique indexes are built.
UPDATE users SET login = login || '-' || substr(id, -6) WHERE EXISTS (
    SELECT 1 FROM users o WHERE o.org_id = users.org_id AND o.id <> users.id
    AND samagate_fold(o.login) = samagate_fold(users.login)
    AND (o.created_at < users.created_at OR (o.created_at = users.created_at AND o.id < users.id)));
UPDATE users SET email = NULL WHERE email IS NOT NULL AND EXISTS (
    SELECT 1 FROM users o WHERE o.org_id = users.org_id AND o.id <> users.id AND o.email IS NOT NULL
    AND samagate_fold(o.email) = samagate_fold(users.email)
    AND (o.created_at < users.created_at OR (o.created_at = users.created_at AND o.id < users.id)));
UPDATE users SET phone = NULL WHERE phone IS NOT NULL AND EXISTS (
    SELECT 1 FROM users o WHERE o.org_id = users.org_id AND o.id <> users.id AND o.phone IS NOT NULL
    AND samagate_fold(o.phone) = samagate_fold(users.phone)
    AND (o.created_at < users.created_at OR (o.created_at = users.created_at AND o.id < users.id)));
DROP INDEX users_login;
DROP INDEX users_email;
DROP INDEX users_phone;
CREATE UNIQUE INDEX users_login_key ON users (org_id, samagate_fold(login));
CREATE UNIQUE INDEX users_email_key ON users (org_id, samagate_fold(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_phone_key ON users (org_id, samagate_fold(phone)) WHERE phone IS NOT NULL;
-- A login without organization_id looks in every organization.
CREATE INDEX users_login_any ON users (samagate_fold(login));
CREATE INDEX users_email_any ON users (samagate_fold(email)) WHERE email IS NOT NULL;

-- Pruning finds ended sessions and expired tokens without a scan.
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at <> 0;
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- Ids of single-use tokens (selection tokens) once used, until they expire.
CREATE TABLE used_tokens (
    id         TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX used_tokens_expires ON used_tokens (expires_at);

-- Recovery codes are found by their first group (the selector) and checked
-- against a password hash of the whole code; codes of before keep '' and
-- their SHA-256.
ALTER TABLE recovery_codes ADD COLUMN selector TEXT NOT NULL DEFAULT '';
CREATE INDEX recovery_codes_selector ON recovery_codes (user_id, selector);
