package adminapi

import (
	"testing"
	"time"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// commit is a commit of n message events and one edit.
func commit(t *testing.T, n int) chat.Commit {
	t.Helper()
	var c chat.Commit
	for range n {
		f, err := protocol.Event("message", map[string]any{"_id": "m", "body": "hi"})
		if err != nil {
			t.Fatal(err)
		}
		c.Deliveries = append(c.Deliveries, chat.Delivery{Frame: f})
	}
	f, err := protocol.Event("message_edit", map[string]any{"id": "m", "body": "hi"})
	if err != nil {
		t.Fatal(err)
	}
	c.Deliveries = append(c.Deliveries, chat.Delivery{Frame: f})
	return c
}

// TestRates: the rates count message events only (not edits), in the 1,
// 60 and 1440 whole minutes before the current one, and forget a day-old
// minute whose slot is reused.
func TestRates(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 30, 15, 0, time.UTC)
	r := NewRates(func() time.Time { return now })
	r.Committed(commit(t, 2))
	if got := r.last(1); got != 0 {
		t.Fatalf("the current minute counts: got %d, want 0", got)
	}
	now = now.Add(time.Minute)
	r.Committed(commit(t, 1))
	if got := [3]int64{r.last(1), r.last(60), r.last(dayMinutes)}; got != [3]int64{2, 2, 2} {
		t.Fatalf("one minute on: got %v, want [2 2 2]", got)
	}
	now = now.Add(30 * time.Minute)
	r.Committed(chat.Commit{}) // nothing
	if got := [3]int64{r.last(1), r.last(60), r.last(dayMinutes)}; got != [3]int64{0, 3, 3} {
		t.Fatalf("half an hour on: got %v, want [0 3 3]", got)
	}
	now = now.Add(2 * time.Hour)
	if got := [3]int64{r.last(1), r.last(60), r.last(dayMinutes)}; got != [3]int64{0, 0, 3} {
		t.Fatalf("two hours on: got %v, want [0 0 3]", got)
	}
	// A day after the first minute its slot is reused: the old count goes.
	now = time.Date(2026, 1, 3, 10, 30, 40, 0, time.UTC)
	r.Committed(commit(t, 5))
	now = now.Add(time.Minute)
	if got := [3]int64{r.last(1), r.last(60), r.last(dayMinutes)}; got != [3]int64{5, 5, 6} {
		t.Fatalf("a day on: got %v, want [5 5 6] (the day-old minute is out of the window, its neighbour is in)", got)
	}
}

func TestFormatUptime(t *testing.T) {
	for s, want := range map[int64]string{0: "0s", 59: "59s", 60: "1m 0s", 3661: "1h 1m 1s", 90061: "1d 1h 1m 1s", 86400: "1d 0h 0m 0s"} {
		if got := formatUptime(s); got != want {
			t.Errorf("formatUptime(%d) = %q, want %q", s, got, want)
		}
	}
}
