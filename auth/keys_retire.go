package auth

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// setMaxTokenLifetime sets the longest lifetime of a token the keys sign
// (a Service's AccessTTLMax, or its selection tokens' if longer): a
// superseded key is retired that long (plus retireSkew) after its
// successor was created.
func (k *Keys) setMaxTokenLifetime(d time.Duration) { k.lifetime.Store(int64(d)) }

// retired reports whether x no longer verifies: a newer key of its
// algorithm exists and was created more than the longest token lifetime
// ago, so x signs nothing any more and every token it signed has expired.
// The newest key of each algorithm is never retired, nor a key whose
// successor's creation time is unknown.
func (k *Keys) retired(list []key, x key) bool {
	var successor *key
	for i := range list { // newest first: the last match before x is the next newer
		if list[i].Kid == x.Kid {
			break
		}
		if list[i].alg() == x.alg() {
			successor = &list[i]
		}
	}
	if successor == nil || successor.Created.IsZero() {
		return false
	}
	return k.now().After(successor.Created.Add(time.Duration(k.lifetime.Load()) + retireSkew))
}

// Retire drops the retired keys from the set and deletes them from where
// they are kept (the key file, or the store every node shares), and
// reports how many. Service.Prune calls it.
func (k *Keys) Retire(ctx context.Context) (int, error) {
	list := k.snapshot()
	var gone []string
	keep := slices.DeleteFunc(slices.Clone(list), func(x key) bool {
		if k.retired(list, x) {
			gone = append(gone, x.Kid)
			return true
		}
		return false
	})
	if len(gone) == 0 {
		return 0, nil
	}
	if k.remove != nil {
		if err := k.remove(ctx, gone); err != nil {
			return 0, fmt.Errorf("retire signing keys: %w", err)
		}
	}
	k.mu.Lock()
	k.list = keep
	k.mu.Unlock()
	return len(gone), nil
}

// stampCreated gives keys of an older key file, which recorded no creation
// time, the time now, and reports whether it did: their successors' age
// then counts from the first start that knows about retirement, later than
// the truth, never earlier.
func stampCreated(list []key, now time.Time) bool {
	stamped := false
	for i := range list {
		if list[i].Created.IsZero() {
			list[i].Created = now.UTC()
			stamped = true
		}
	}
	return stamped
}
