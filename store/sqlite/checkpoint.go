package sqlite

import (
	"context"
	"time"
)

// Checkpoints. Under WAL a commit appends pages to the log; copying them
// back into the database file (a checkpoint, with an fsync) is by default
// done by the commit that finds the log past 1,000 pages, while every
// commit queued behind it waits: at 600 messages/s (25 MB/s of log) that
// was several times a second, and the commit latency's tail and the
// fan-out's with it (issue 11: p50 at 60k deliveries/s 32 ms with it, 11 ms
// without). So the commits do not checkpoint; a goroutine of the store
// runs a PASSIVE checkpoint every checkpointEvery, which never blocks a
// writer, and the log restarts from its beginning once a checkpoint has
// copied it all. A commit still checkpoints past walBackstop pages, should
// the goroutine fall behind.

// checkpointEvery is how often the log is copied back.
const checkpointEvery = 200 * time.Millisecond

// walBackstop is the log size in pages past which a commit checkpoints
// itself (SQLite's wal_autocheckpoint): 40 MiB of 4 KiB pages.
const walBackstop = 10000

// checkpoints runs until stop is closed, then closes done. A turn with no
// write since the last checkpoint does nothing, so an idle node costs a
// timer and nothing more. (A write outside exec and begin is left to the
// next write's turn or to the backstop.)
func (s *DB) checkpoints(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	last := int64(-1)
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			w := s.writes.Load()
			if w == last {
				continue
			}
			// An error (a busy database, a closing one) is left to the
			// next turn or to the backstop.
			if _, err := s.checkpoint(context.Background(), "PASSIVE"); err == nil {
				last = w
			}
		}
	}
}

// checkpoint runs one checkpoint of the given mode and returns the pages
// left in the log that it could not copy.
func (s *DB) checkpoint(ctx context.Context, mode string) (left int, err error) {
	var busy, log, copied int
	if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &log, &copied); err != nil {
		return 0, err
	}
	return max(log-copied, 0), nil
}
