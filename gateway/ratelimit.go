package gateway

import (
	"sync"
	"time"
)

// Rate is a token bucket: PerSecond requests sustained, Burst at once. The
// zero value takes the default of the Config field; a negative PerSecond
// turns the limit off.
type Rate struct {
	// PerSecond is the sustained rate, in requests per second.
	PerSecond float64
	// Burst is how many requests may come at once after a quiet period.
	Burst int
}

func (r Rate) withDefault(d Rate) Rate {
	if r.PerSecond == 0 {
		r.PerSecond = d.PerSecond
	}
	if r.Burst <= 0 {
		r.Burst = d.Burst
	}
	return r
}

// gcra is a token bucket kept as one number per key, the theoretical
// arrival time of the next request (the generic cell rate algorithm): a
// bucket costs 8 bytes, so every socket can own one without an allocation.
type gcra struct {
	interval  int64 // ns between two requests at the sustained rate; 0: unlimited
	tolerance int64 // how far ahead of now the arrival time may run: the burst
}

func newGCRA(r Rate) gcra {
	if r.PerSecond < 0 {
		return gcra{}
	}
	interval := max(int64(float64(time.Second)/r.PerSecond), 1)
	return gcra{interval: interval, tolerance: interval * int64(max(r.Burst, 1)-1)}
}

// ok reports whether a request at now (ns on the gateway's monotonic
// clock) fits the bucket whose state is tat, without taking it.
func (l gcra) ok(tat, now int64) bool {
	return l.interval == 0 || max(tat, now)-now <= l.tolerance
}

// take charges one request to the bucket; call it after ok.
func (l gcra) take(tat *int64, now int64) {
	if l.interval != 0 {
		*tat = max(*tat, now) + l.interval
	}
}

// allow takes one request from the bucket if it fits.
func (l gcra) allow(tat *int64, now int64) bool {
	if !l.ok(*tat, now) {
		return false
	}
	l.take(tat, now)
	return true
}

// limitClass names the per-user bucket a method is charged to, besides the
// bucket of every request.
type limitClass uint8

const (
	classNone limitClass = iota
	classMessage
	classSystemMessage
	classTyping
	classCount
)

// userBuckets is one user's buckets on this node: arrival times of every
// request and of each class.
type userBuckets struct {
	all   int64
	class [classCount]int64
}

// userLimits holds the per-user buckets of this node. They are per node:
// a check on every frame through Redis would add a round trip to every
// message; a user spread over n nodes gets at most n times the rate, and
// each node is protected on its own. An entry lives while its buckets are
// not full again, so closing and reopening sockets does not refill them.
type userLimits struct {
	// immutable after construction
	all   gcra
	class [classCount]gcra

	mu    sync.Mutex
	users map[string]*userBuckets // guarded by mu
}

func newUserLimits(all Rate, class [classCount]Rate) *userLimits {
	l := &userLimits{all: newGCRA(all), users: map[string]*userBuckets{}}
	for i, r := range class {
		if limitClass(i) != classNone {
			l.class[i] = newGCRA(r)
		}
	}
	return l
}

// allow charges one request of class c to userID; false: over the limit,
// and nothing is charged.
func (l *userLimits) allow(userID string, c limitClass, now int64) bool {
	if l.all.interval == 0 && l.class[c].interval == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.users[userID]
	if b == nil {
		b = &userBuckets{}
		l.users[userID] = b
	}
	if !l.all.ok(b.all, now) || !l.class[c].ok(b.class[c], now) {
		return false
	}
	l.all.take(&b.all, now)
	l.class[c].take(&b.class[c], now)
	return true
}

// sweep forgets users whose buckets are full again (nothing to remember).
func (l *userLimits) sweep(now int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, b := range l.users {
		idle := b.all <= now
		for _, t := range b.class {
			idle = idle && t <= now
		}
		if idle {
			delete(l.users, id)
		}
	}
}

// size is the number of users with a bucket (tests).
func (l *userLimits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users)
}
