package sqlite

// SetPrepared turns the prepared statements of db on or off, so that a
// benchmark measures the unprepared path (every call parsed again, as
// before issue 11) beside the prepared one, in the same run.
func SetPrepared(db *DB, on bool) { db.stmts.setPrepared(on) }
