package presence

import (
	"context"
	"sync"
	"time"
)

// outboxTTL is how long a bus send that failed is retried. A target node
// whose own bus also broke recovers from the event log; the outbox covers
// the case where only this node could not reach Redis (its connections
// were still reconnecting when the others' were back), which the target
// cannot notice.
const outboxTTL = time.Minute

// outboxMax bounds the sends kept; the oldest go first.
const outboxMax = 10000

// outbox keeps failed bus sends and retries them in order each heartbeat.
type outbox struct {
	mu    sync.Mutex
	items []outItem // guarded by mu, oldest first
}

type outItem struct {
	send  func(ctx context.Context) error
	until time.Time
}

// push queues send for retry.
func (o *outbox) push(send func(ctx context.Context) error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) >= outboxMax {
		o.items = o.items[1:]
	}
	o.items = append(o.items, outItem{send: send, until: time.Now().Add(outboxTTL)})
}

// len is the number of sends waiting.
func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.items)
}

// flush retries queued sends in order and stops at the first that still
// fails (Redis is still unreachable); it returns how many went out and how
// many expired.
func (o *outbox) flush(ctx context.Context) (sent, expired int) {
	for {
		o.mu.Lock()
		if len(o.items) == 0 {
			o.mu.Unlock()
			return sent, expired
		}
		it := o.items[0]
		o.mu.Unlock()
		if time.Now().After(it.until) {
			expired++
		} else if err := it.send(ctx); err != nil {
			return sent, expired
		} else {
			sent++
		}
		o.mu.Lock()
		if len(o.items) > 0 {
			o.items = o.items[1:]
		}
		o.mu.Unlock()
	}
}
