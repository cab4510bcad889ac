package chat_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/store"
)

// TestSubmitCommitsInCallOrder: a thousand messages submitted from one
// goroutine before any is waited for (a connection pipelining its frames)
// are stored in the order they were submitted: their positions rise in
// call order, and the sink sees them in that order.
func TestSubmitCommitsInCallOrder(t *testing.T) {
	svc, db, rec, as := newService(t, "ann", "bob")
	ann := as["ann"]
	cid := group(t, svc, ann, as["bob"])
	const n = 1000
	waits := make([]func(context.Context) (*chat.Ask, error), 0, n)
	for i := range n {
		body := fmt.Sprint("m", i)
		wait, err := svc.SubmitMessage(ctx, ann, chat.NewMessage{ClientID: fmt.Sprint(i), CID: cid, Body: &body})
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
		waits = append(waits, wait)
	}
	asks := make([]string, 0, n)
	for i, wait := range waits {
		ask, err := wait(ctx)
		if err != nil {
			t.Fatalf("wait %d: %v", i, err)
		}
		asks = append(asks, ask.ServerMID)
	}
	var last int64
	for i, id := range asks {
		m, err := db.MessageByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Pos <= last || m.ClientID != fmt.Sprint(i) {
			t.Fatalf("message %d (client id %s) at position %d, after %d: want positions rising in call order", i, m.ClientID, m.Pos, last)
		}
		last = m.Pos
	}
	var delivered []string
	for _, c := range rec.all() {
		for _, d := range c.Deliveries {
			if slices.Contains(asks, d.EventID) {
				delivered = append(delivered, d.EventID)
			}
		}
	}
	if !slices.Equal(delivered, asks) {
		t.Fatalf("the sink saw %d of the messages, or out of call order", len(delivered))
	}
	t.Logf("%d messages submitted before any wait: stored and delivered in call order, positions rising", n)
}

// TestSubmitIdempotent: the same client id submitted twice in a row (two
// pipelined frames) and sent once more afterwards is stored once, and every
// one of them gets the first ask.
func TestSubmitIdempotent(t *testing.T) {
	svc, db, _, as := newService(t, "ann", "bob")
	ann := as["ann"]
	cid := group(t, svc, ann, as["bob"])
	body := "once"
	in := chat.NewMessage{ClientID: "same", CID: cid, Body: &body}
	w1, err := svc.SubmitMessage(ctx, ann, in)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := svc.SubmitMessage(ctx, ann, in)
	if err != nil {
		t.Fatal(err)
	}
	a1, err1 := w1(ctx)
	a2, err2 := w2(ctx)
	a3, err3 := svc.SendMessage(ctx, ann, in)
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("errors: %v, %v, %v", err1, err2, err3)
	}
	if a1.ServerMID != a2.ServerMID || a1.ServerMID != a3.ServerMID || a1.T != a3.T {
		t.Fatalf("asks %+v, %+v, %+v: want the first one each time", a1, a2, a3)
	}
	ms, err := db.ConversationMessages(ctx, cid, store.MessageQuery{Limit: 10})
	if err != nil || len(ms) != 1 {
		t.Fatalf("stored: got %d messages, %v, want 1", len(ms), err)
	}
}

// TestSubmitValidates: what SendMessage refuses before writing,
// SubmitMessage refuses itself, queuing nothing.
func TestSubmitValidates(t *testing.T) {
	svc, _, _, as := newService(t, "ann", "bob", "cat")
	cid := group(t, svc, as["ann"], as["bob"])
	body := "x"
	for name, tc := range map[string]struct {
		a    chat.Actor
		in   chat.NewMessage
		want string
	}{
		"no client id":    {as["ann"], chat.NewMessage{CID: cid, Body: &body}, "422"},
		"no conversation": {as["ann"], chat.NewMessage{ClientID: "1", CID: store.NewID(), Body: &body}, "404 Conversation not found."},
		"not a member":    {as["cat"], chat.NewMessage{ClientID: "1", CID: cid, Body: &body}, "403 Forbidden."},
		"no body":         {as["ann"], chat.NewMessage{ClientID: "1", CID: cid}, "422"},
	} {
		wait, err := svc.SubmitMessage(ctx, tc.a, tc.in)
		if err == nil || wait != nil || len(err.Error()) < len(tc.want) || err.Error()[:len(tc.want)] != tc.want {
			t.Fatalf("%s: got %v (wait %v), want %s", name, err, wait != nil, tc.want)
		}
	}
}
