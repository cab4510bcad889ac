package chat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/samagate/samagate/store"
)

// committer is the group commit: one goroutine drains every batch waiting
// and writes them in one transaction, so senders wait for durability without
// one fsync each, then hands the commit's deliveries to the sink in commit
// order (docs/events.md). A sender is released only after its batch
// committed.
//
// Each batch is its own unit: when a merged commit certainly rolled back,
// every batch of it is retried alone, so one bad batch (a conversation
// deleted meanwhile, a repeated client id) fails only its own sender. A
// commit whose outcome is unknown (the connection broke at COMMIT) is not
// retried, since it may have happened: its senders get an error, and a
// repeated send is recognized by its client id. Every commit runs under a
// deadline, and a batch whose sender has already given up is not written.
type committer struct {
	st      store.Messages
	maxSize int
	timeout time.Duration
	sink    func(Commit)
	obs     Observer // nil: none
	reqs    chan *commitReq
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// commitReq is one sender's batch. origin is the socket that sent it (it
// gets no copy of the events: it has its reply). state moves once from
// queued to begun (the committer took it into a commit) or to abandoned
// (its sender gave up first: it is never written).
type commitReq struct {
	ctx    context.Context
	b      *store.Batch
	origin string
	rows   int
	state  atomic.Int32
	done   chan struct{} // closed once err is set
	err    error
	// stopped is the committer's done: a request queued as it stopped
	// (after it refused what was queued) is never finished.
	stopped <-chan struct{}
}

// Request states.
const (
	reqQueued int32 = iota
	reqBegun
	reqAbandoned
)

func newCommitter(st store.Messages, maxSize int, timeout time.Duration, obs Observer, sink func(Commit)) *committer {
	c := &committer{st: st, maxSize: maxSize, timeout: timeout, obs: obs, sink: sink, reqs: make(chan *commitReq, maxSize),
		stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// commit queues b and waits until it is durable and handed to the sink (or
// ctx ends: the batch is then written only if its commit had already begun).
func (c *committer) commit(ctx context.Context, b *store.Batch, origin string) error {
	r, err := c.submit(ctx, b, origin)
	if err != nil {
		return err
	}
	return r.wait(ctx)
}

// submit queues b behind every batch queued before it: batches commit in
// the order they were submitted (a group keeps their order, and a group
// retried batch by batch retries them in order). It blocks while the queue
// is full. ctx is the sender's: once it ends before the batch's commit
// begins, the batch is not written.
func (c *committer) submit(ctx context.Context, b *store.Batch, origin string) (*commitReq, error) {
	r := &commitReq{ctx: ctx, b: b, origin: origin, rows: rowsOf(b), done: make(chan struct{}), stopped: c.done}
	if r.rows > store.MaxCommitRows {
		return nil, fmt.Errorf("commit: %w", store.ErrTooLarge)
	}
	select {
	case c.reqs <- r:
		return r, nil
	case <-c.stop:
		return nil, fmt.Errorf("commit: %w", errClosed)
	case <-ctx.Done():
		return nil, fmt.Errorf("commit: %w", ctx.Err())
	}
}

// wait blocks until r's commit is durable and handed to the sink, or failed,
// or ctx ends. A batch whose wait ends before its commit began is abandoned:
// it is never written, so the error means "not stored"; one whose commit
// had begun may still be written (a retry is recognized by its client id).
func (r *commitReq) wait(ctx context.Context) error {
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		r.state.CompareAndSwap(reqQueued, reqAbandoned)
		return fmt.Errorf("commit: %w", ctx.Err())
	case <-r.stopped:
		select {
		case <-r.done:
			return r.err
		default:
			return fmt.Errorf("commit: %w", errClosed)
		}
	}
}

// finish hands r its outcome.
func (r *commitReq) finish(err error) {
	r.err = err
	close(r.done)
}

// rowsOf counts the positions a batch takes.
func rowsOf(b *store.Batch) int {
	n := len(b.Events)
	for _, m := range b.Messages {
		found := false
		for _, e := range b.Events {
			if e.ID == m.ID {
				found = true
				break
			}
		}
		if !found {
			n++
		}
	}
	return n
}

func (c *committer) run() {
	defer close(c.done)
	var carry *commitReq // did not fit the previous group
	for {
		select {
		case <-c.stop: // before taking more: what is queued is refused
			if carry != nil {
				carry.finish(fmt.Errorf("commit: %w", errClosed))
			}
			c.refuseQueued()
			return
		default:
		}
		first := carry
		carry = nil
		if first == nil {
			select {
			case first = <-c.reqs:
			case <-c.stop:
				c.refuseQueued()
				return
			}
		}
		group, rows := []*commitReq{first}, first.rows
	drain:
		for len(group) < c.maxSize {
			select {
			case r := <-c.reqs:
				if rows+r.rows > store.MaxCommitRows {
					carry = r
					break drain
				}
				group, rows = append(group, r), rows+r.rows
			default:
				break drain
			}
		}
		c.commitGroup(group)
	}
}

// refuseQueued fails every batch still queued once the committer stops, so
// that no waiter waits for a commit that will not come.
func (c *committer) refuseQueued() {
	for {
		select {
		case r := <-c.reqs:
			r.finish(fmt.Errorf("commit: %w", errClosed))
		default:
			return
		}
	}
}

// commitGroup writes the live batches of group in one transaction; when that
// fails and there were several, each is retried alone.
func (c *committer) commitGroup(group []*commitReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.state.CompareAndSwap(reqQueued, reqAbandoned)
			r.finish(fmt.Errorf("commit: %w", err)) // given up before it was written: nothing stored
			continue
		}
		if !r.state.CompareAndSwap(reqQueued, reqBegun) {
			r.finish(fmt.Errorf("commit: %w", context.Canceled)) // its waiter gave up: nothing stored
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	err := c.write(live)
	if err == nil || len(live) == 1 || !errors.Is(err, store.ErrRolledBack) {
		for _, r := range live {
			r.finish(err)
		}
		return
	}
	for _, r := range live {
		r.finish(c.write([]*commitReq{r}))
	}
}

// numberRetries is how often a commit whose number a reader voided
// (store.ErrNumberLost: a writer stalled past the other nodes' hold-back)
// is tried again before its senders get the error.
const numberRetries = 3

// write commits reqs in one transaction, again if a reader voided its
// number meanwhile.
func (c *committer) write(reqs []*commitReq) error {
	for attempt := 0; ; attempt++ {
		err := c.writeOnce(reqs)
		if err == nil || !errors.Is(err, store.ErrNumberLost) || attempt == numberRetries {
			return err
		}
	}
}

// writeOnce commits reqs in one transaction under the commit deadline and
// hands the outcome to the sink: the deliveries, or a void number when the
// store knows the transaction took one and rolled back.
func (c *committer) writeOnce(reqs []*commitReq) error {
	batches := make([]*store.Batch, len(reqs))
	for i, r := range reqs {
		batches[i] = r.b
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	start := time.Now()
	done, err := c.st.Commit(ctx, batches)
	cancel()
	if c.obs != nil {
		c.obs.Committed(len(batches), time.Since(start), err)
	}
	if err != nil {
		if ab := (*store.AbortedError)(nil); errors.As(err, &ab) {
			c.sink(Commit{Seq: ab.Seq, Void: true})
		}
		return fmt.Errorf("commit: %w", err)
	}
	out := Commit{Seq: done.Seq, MembershipChanged: done.MembershipChanged}
	for i, r := range reqs {
		for _, e := range batches[i].Events {
			out.Deliveries = append(out.Deliveries, Delivery{Frame: e.Payload, EventID: e.ID, Pos: e.Pos,
				UserIDs: recipients(e, done.Members), Except: r.origin})
		}
	}
	c.sink(out)
	return nil
}

// recipients are the users an event goes to: the one it is addressed to, or
// the conversation's members who had joined by its position.
func recipients(e store.Event, members map[string][]store.Member) []string {
	if e.ConversationID == "" {
		return []string{e.UserID}
	}
	ms := members[e.ConversationID]
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		if m.JoinedPos <= e.Pos {
			out = append(out, m.UserID)
		}
	}
	return out
}

// close stops the committer after the batch in flight.
func (c *committer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
