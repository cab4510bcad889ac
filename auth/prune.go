package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// usedTokensKept is how many used refresh tokens of a live session pruning
// keeps: replaying one of them still revokes the session, and a client
// refreshing in a loop cannot grow the table without bound.
const usedTokensKept = 10

// pruneTimeout bounds one Prune of RunPruning.
const pruneTimeout = time.Minute

// Prune deletes what can no longer be used: revoked and expired sessions
// with their refresh tokens, used refresh tokens beyond the newest
// usedTokensKept of each session, spent selection tokens, and retired
// signing keys. It reports the rows and the keys it deleted.
func (s *Service) Prune(ctx context.Context) (rows, keys int, err error) {
	rows, err = s.st.PruneSessions(ctx, s.now(), usedTokensKept)
	if err != nil {
		return 0, 0, fmt.Errorf("prune sessions: %w", err)
	}
	_ = s.keys.refresh(ctx) // see rotations of other nodes before judging ages
	keys, err = s.keys.Retire(ctx)
	return rows, keys, err
}

// Run does the service's background work until ctx ends: pruning, and
// batched writes of users' recent activity (flushed once more on the way
// out). The app runs it for its lifetime and cancels it before the store
// closes.
func (s *Service) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.runActivity(ctx)
	}()
	s.RunPruning(ctx)
	<-done
}

// RunPruning runs Prune every PruneInterval until ctx ends (Run runs it).
// Failures are logged and retried at the next tick.
func (s *Service) RunPruning(ctx context.Context) {
	t := time.NewTicker(s.cfg.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, pruneTimeout)
		rows, keys, err := s.Prune(pctx)
		cancel()
		switch {
		case err != nil && !errors.Is(err, context.Canceled):
			s.log.Warn().Err(err).Msg("prune sessions and keys")
		case rows > 0 || keys > 0:
			s.log.Info().Int("rows", rows).Int("keys", keys).Msg("pruned ended sessions, spent tokens and retired keys")
		}
	}
}
