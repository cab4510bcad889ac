package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Pool is db's connection pool, for tests that look at its connections.
func Pool(db *DB) *pgxpool.Pool { return db.pool }
