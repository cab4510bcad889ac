package auth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// activityWriter keeps users' last-disconnect times (recent_activity)
// until the next flush, which writes all of them in one transaction. A
// write per disconnect was a quarter of the gateway's CPU under connect
// churn (each one a transaction of its own); a mass disconnect now costs a
// few transactions per second.
//
// While no flush loop runs (Service.Run), every time is written through at
// once, as before. While one runs, this node's reads of a user (GetUser,
// UsersByIDs, SearchUsers) see the pending time; another node reads the
// stored one, at most ActivityFlush older. The online state itself never
// waits: it is in presence, and the gateway announces a last activity to
// its watchers at once.
type activityWriter struct {
	running atomic.Bool

	mu      sync.Mutex
	pending map[string]int64 // user id -> unix seconds; guarded by mu
	full    chan struct{}    // a flush is due before the tick: pending is large
}

// activityBatch is the most times kept before a flush is started early.
const activityBatch = 4096

func newActivityWriter() *activityWriter {
	return &activityWriter{pending: map[string]int64{}, full: make(chan struct{}, 1)}
}

// SetRecentActivity records when the user's last device disconnected.
func (s *Service) SetRecentActivity(ctx context.Context, userID string, t time.Time) error {
	w := s.activity
	if !w.running.Load() {
		return s.st.SetRecentActivity(ctx, map[string]int64{userID: t.Unix()})
	}
	w.mu.Lock()
	w.pending[userID] = max(w.pending[userID], t.Unix())
	n := len(w.pending)
	w.mu.Unlock()
	if n >= activityBatch {
		select {
		case w.full <- struct{}{}:
		default:
		}
	}
	return nil
}

// overlay puts this node's pending times into users read from the store.
func (w *activityWriter) overlay(users ...*User) {
	if !w.running.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, u := range users {
		if t, ok := w.pending[u.ID]; ok && t > u.RecentActivity {
			u.RecentActivity = t
		}
	}
}

// take empties the pending times.
func (w *activityWriter) take() map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) == 0 {
		return nil
	}
	out := w.pending
	w.pending = make(map[string]int64, len(out))
	return out
}

// putBack returns times whose write failed, unless newer ones came since.
func (w *activityWriter) putBack(batch map[string]int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, t := range batch {
		w.pending[id] = max(w.pending[id], t)
	}
}

// flush writes the pending times; a failure keeps them for the next one.
func (s *Service) flushActivity(ctx context.Context) error {
	batch := s.activity.take()
	if batch == nil {
		return nil
	}
	if err := s.st.SetRecentActivity(ctx, batch); err != nil {
		s.activity.putBack(batch)
		return fmt.Errorf("flush recent activity of %d users: %w", len(batch), err)
	}
	return nil
}

// runActivity flushes every ActivityFlush until ctx ends, then once more
// (with a short deadline of its own) and writes through from then on.
func (s *Service) runActivity(ctx context.Context) {
	w := s.activity
	w.running.Store(true)
	t := time.NewTicker(s.cfg.ActivityFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			w.running.Store(false)
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := s.flushActivity(fctx); err != nil {
				s.log.Warn().Err(err).Msg("recent activity lost at shutdown")
			}
			cancel()
			return
		case <-t.C:
		case <-w.full:
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := s.flushActivity(fctx); err != nil {
			s.log.Warn().Err(err).Msg("recent activity")
		}
		cancel()
	}
}
