package chat

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

// pausedService is a service whose committer has not started, so that a
// test can act on queued messages before their commit begins; start runs it.
func pausedService(t *testing.T) (*Service, *sqlite.DB, Actor, string, func()) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	svc, err := New(context.Background(), db, Config{}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	var users []string
	for _, login := range []string{"ann", "bob"} {
		u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: login, PasswordHash: "h"}
		if err := db.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	ann := Actor{UserID: users[0], OrgID: store.DefaultOrg, Conn: "sock"}
	conv, err := svc.CreateConversation(context.Background(), ann, NewConversation{Type: "g", Name: "g", Participants: users[1:]})
	if err != nil {
		t.Fatal(err)
	}
	svc.gc.close()
	c, start := pausedCommitter(t, db, func(Commit) {})
	svc.gc = c
	return svc, db, ann, conv.ID, start
}

// queued waits until n requests are queued on c.
func queued(c *committer, n int) {
	for len(c.reqs) < n {
		time.Sleep(time.Millisecond)
	}
}

// TestSubmitAbandoned: a message whose request ended (the submit's ctx), or
// whose waiter gave up (the wait's ctx), before its commit began is not
// written, and its wait says so; the message submitted after it is.
func TestSubmitAbandoned(t *testing.T) {
	svc, db, ann, cid, start := pausedService(t)
	body := "x"
	reqCtx, cancelReq := context.WithCancel(context.Background())
	waitReq, err := svc.SubmitMessage(reqCtx, ann, NewMessage{ClientID: "request-ended", CID: cid, Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	waitGone, err := svc.SubmitMessage(context.Background(), ann, NewMessage{ClientID: "waiter-gone", CID: cid, Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	waitKept, err := svc.SubmitMessage(context.Background(), ann, NewMessage{ClientID: "kept", CID: cid, Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	queued(svc.gc, 3)
	cancelReq()
	gone, cancelWait := context.WithCancel(context.Background())
	cancelWait()
	if _, err := waitGone(gone); !errors.Is(err, context.Canceled) {
		t.Fatalf("wait given up: got %v, want context.Canceled", err)
	}
	start()
	if _, err := waitReq(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("request ended before its commit: got %v, want context.Canceled", err)
	}
	if _, err := waitGone(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("waiting again for an abandoned message: got %v, want context.Canceled", err)
	}
	ask, err := waitKept(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"request-ended", "waiter-gone"} {
		if _, err := db.MessageByClientID(context.Background(), cid, ann.UserID, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("%s: got %v, want it not stored", id, err)
		}
	}
	if m, err := db.MessageByClientID(context.Background(), cid, ann.UserID, "kept"); err != nil || m.ID != ask.ServerMID {
		t.Fatalf("kept: got %+v, %v, want the ask's message", m, err)
	}
}

// TestCloseFailsQueued: messages still queued when the service closes get
// an error instead of waiting forever.
func TestCloseFailsQueued(t *testing.T) {
	svc, _, ann, cid, _ := pausedService(t)
	body := "x"
	wait, err := svc.SubmitMessage(context.Background(), ann, NewMessage{ClientID: "late", CID: cid, Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	svc.gc.once.Do(func() { close(svc.gc.stop) }) // stopped before it takes the message
	go svc.gc.run()
	<-svc.gc.done
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := wait(ctx); err == nil || ctx.Err() != nil {
		t.Fatalf("queued at close: got %v (ctx %v), want an error at once", err, ctx.Err())
	}
}
