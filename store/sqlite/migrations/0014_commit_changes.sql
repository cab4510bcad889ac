-- The conversations a commit's changes changed (members, roles, fields,
-- deletion), as a JSON array; NULL for none. A node that caches
-- memberships learns them from every commit, its own and the other nodes'
-- (store.Committed.MembershipChanged); ResolveCommit reads them back here
-- for a commit whose packet never came.
ALTER TABLE commits ADD COLUMN changed TEXT;
