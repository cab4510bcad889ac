package auth

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/samagate/samagate/protocol"
)

// hashClass orders the hashing queue.
type hashClass int

const (
	// classLogin verifies a password or a recovery code: someone is waiting
	// to log in. It goes first.
	classLogin hashClass = iota
	// classNew hashes a new secret: a sign-up, a password change, recovery
	// codes. It waits behind every login and has a shorter queue.
	classNew
)

// hashQueue bounds argon2id work, the one expensive thing an
// unauthenticated client can ask for: at most slots hashes run at once;
// waiting requests are served logins first, and only so many may wait
// (limits, per class); a request beyond that, or waiting longer than wait,
// gets protocol.ErrServerBusy (503) at once instead of piling up. A flood
// of sign-ups thus costs a bystander's login at most the hashes already
// running.
type hashQueue struct {
	wait   time.Duration
	limits [2]int

	mu      sync.Mutex
	free    int                // slots not in use; guarded by mu
	waiting [2][]chan struct{} // FIFO per class; guarded by mu
}

func newHashQueue(slots, queue int, wait time.Duration) *hashQueue {
	return &hashQueue{wait: wait, free: slots, limits: [2]int{queue, max(1, queue/4)}}
}

// acquire waits for a slot and returns its release; ErrServerBusy when the
// class's queue is full or the wait too long, ctx's error when it ends.
func (q *hashQueue) acquire(ctx context.Context, class hashClass) (func(), error) {
	q.mu.Lock()
	if q.free > 0 && len(q.waiting[classLogin]) == 0 && (class == classLogin || len(q.waiting[classNew]) == 0) {
		q.free--
		q.mu.Unlock()
		return q.release, nil
	}
	if len(q.waiting[class]) >= q.limits[class] {
		q.mu.Unlock()
		return nil, protocol.ErrServerBusy
	}
	granted := make(chan struct{})
	q.waiting[class] = append(q.waiting[class], granted)
	q.mu.Unlock()

	timer := time.NewTimer(q.wait)
	defer timer.Stop()
	var err error
	select {
	case <-granted:
		return q.release, nil
	case <-timer.C:
		err = protocol.ErrServerBusy
	case <-ctx.Done():
		err = fmt.Errorf("wait for hashing slot: %w", ctx.Err())
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiting[class], granted); i >= 0 {
		q.waiting[class] = slices.Delete(q.waiting[class], i, i+1)
		return nil, err
	}
	return q.release, nil // granted as it gave up: the slot is its own
}

// busy reports whether a request of class would be refused now (no free
// slot and its queue full), so a sign-up can be answered 503 before it
// costs any query. A hint: acquire decides.
func (q *hashQueue) busy(class hashClass) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.free == 0 && len(q.waiting[class]) >= q.limits[class]
}

// release hands the slot to the first waiting login, else to the first
// waiting new hash, else frees it.
func (q *hashQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for c := range q.waiting {
		if len(q.waiting[c]) > 0 {
			next := q.waiting[c][0]
			q.waiting[c] = q.waiting[c][1:]
			close(next)
			return
		}
	}
	q.free++
}
