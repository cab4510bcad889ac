package chat

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/samagate/samagate/store"
)

// committer is the group commit: one goroutine drains every batch waiting
// and writes them in one transaction, so senders wait for durability without
// one fsync each. A sender is released only after its batch committed.
type committer struct {
	st      store.Messages
	maxSize int
	reqs    chan commitReq
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

type commitReq struct {
	b   *store.Batch
	err chan error
}

func newCommitter(st store.Messages, maxSize int) *committer {
	c := &committer{st: st, maxSize: maxSize, reqs: make(chan commitReq, maxSize),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// commit queues b and waits until it is durable (or ctx ends; the batch
// may then still be written).
func (c *committer) commit(ctx context.Context, b *store.Batch) error {
	r := commitReq{b: b, err: make(chan error, 1)}
	select {
	case c.reqs <- r:
	case <-c.stop:
		return fmt.Errorf("commit: %w", errClosed)
	case <-ctx.Done():
		return fmt.Errorf("commit: %w", ctx.Err())
	}
	select {
	case err := <-r.err:
		return err
	case <-ctx.Done():
		return fmt.Errorf("commit: %w", ctx.Err())
	}
}

func (c *committer) run() {
	defer close(c.done)
	for {
		var first commitReq
		select {
		case first = <-c.reqs:
		case <-c.stop:
			return
		}
		group := []commitReq{first}
	drain:
		for len(group) < c.maxSize {
			select {
			case r := <-c.reqs:
				group = append(group, r)
			default:
				break drain
			}
		}
		merged := &store.Batch{Touch: map[string]time.Time{}}
		for _, r := range group {
			merged.Messages = append(merged.Messages, r.b.Messages...)
			merged.Events = append(merged.Events, r.b.Events...)
			for id, at := range r.b.Touch {
				if at.After(merged.Touch[id]) {
					merged.Touch[id] = at
				}
			}
		}
		err := c.st.Commit(context.Background(), merged)
		for _, r := range group {
			r.err <- err
		}
	}
}

// close stops the committer after the batch in flight.
func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
