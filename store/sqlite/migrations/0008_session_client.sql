-- What the client reported about itself at login (all optional).
ALTER TABLE sessions ADD COLUMN platform TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN platform_version TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN app_name TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN app_version TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN provider TEXT NOT NULL DEFAULT '';
