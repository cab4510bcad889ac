package gateway

import (
	"slices"
	"testing"
	"time"
)

func TestRecentSetClaimsPerUser(t *testing.T) {
	r := newRecentSet(time.Minute)
	steps := []struct {
		id    string
		users []string
		want  []string
	}{
		{"e1", []string{"a"}, []string{"a"}},           // a partial packet: only a
		{"e1", []string{"a", "b"}, []string{"b"}},      // the recovery adds b
		{"e1", []string{"b", "a"}, nil},                // a late full packet: nothing new
		{"e2", []string{"a", "b"}, []string{"a", "b"}}, // another event
		{"", []string{"a"}, []string{"a"}},             // live-only: always delivered
		{"", []string{"a"}, []string{"a"}},             // ...every time
		{"e2", []string{"c"}, []string{"c"}},           // a user who came later
		{"e2", []string{"a", "b", "c"}, []string(nil)}, // all reached
	}
	for i, s := range steps {
		if got := r.claim(s.id, s.users); !slices.Equal(got, s.want) {
			t.Fatalf("step %d claim(%q, %v): got %v, want %v", i, s.id, s.users, got, s.want)
		}
	}
	var single *recentSet // one node: no set, everything is new
	if got := single.claim("e1", []string{"a"}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("nil set: got %v", got)
	}
}

func TestRecentSetExpires(t *testing.T) {
	r := newRecentSet(10 * time.Millisecond)
	r.claim("e1", []string{"a"})
	time.Sleep(20 * time.Millisecond)
	r.claim("e2", []string{"a"}) // expiry happens on the next claim
	if got := r.claim("e1", []string{"a"}); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("after the window: got %v, want [a] again", got)
	}
	if len(r.seen) != 2 || len(r.order) != 2 {
		t.Fatalf("kept %d ids / %d entries, want 2 / 2", len(r.seen), len(r.order))
	}
}
