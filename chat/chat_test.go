package chat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var ctx = context.Background()

// setup opens a store with n users in one conversation (private for 2,
// group otherwise) and returns the service, the members and the cid.
func setup(tb testing.TB, n int) (*chat.Service, store.Store, []string, string) {
	tb.Helper()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(tb.TempDir(), "db")})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	var ids []string
	for i := range n {
		u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: fmt.Sprintf("user_%d", i), PasswordHash: "h",
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	svc, err := chat.New(ctx, db, chat.Config{}, zerolog.Nop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	typ, name := "u", ""
	if n > 2 {
		typ, name = "g", "group"
	}
	conv, err := svc.CreateConversation(ctx, chat.Actor{UserID: ids[0], OrgID: store.DefaultOrg},
		chat.NewConversation{Type: typ, Name: name, Participants: ids[1:]})
	if err != nil {
		tb.Fatal(err)
	}
	return svc, db, ids, conv.ID
}

// TestConcurrentSendsAllDurable: many senders at once are group-committed;
// every ask corresponds to a stored message and one event.
func TestConcurrentSendsAllDurable(t *testing.T) {
	svc, db, ids, cid := setup(t, 3)
	const senders, each = 8, 25
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := "x"
			for i := range each {
				ask, err := svc.SendMessage(ctx, chat.Actor{UserID: ids[s%len(ids)], OrgID: store.DefaultOrg},
					chat.NewMessage{ClientID: fmt.Sprint(s, "-", i), CID: cid, Body: &body})
				if err != nil {
					t.Error(err)
					return
				}
				if ask.ServerMID == "" {
					t.Errorf("ask %+v", ask)
				}
			}
		}()
	}
	wg.Wait()
	ms, err := db.ConversationMessages(ctx, cid, store.MessageQuery{Limit: 1000})
	if err != nil || len(ms) != senders*each {
		t.Fatalf("stored messages: got %d, %v, want %d", len(ms), err, senders*each)
	}
	evs, err := db.Events(ctx, store.EventQuery{UserID: ids[1], Limit: 1000})
	if err != nil || len(evs) != senders*each+1 { // + conversation_created
		t.Fatalf("events for a member: got %d, %v, want %d", len(evs), err, senders*each+1)
	}
}

// BenchmarkSendMessage reports messages accepted per second (each one
// durable before its ask) and the recipient events they fan out to, for a
// 1-1 chat and a 50-member group, with parallel senders on SQLite.
//
//	go test -run '^$' -bench SendMessage -benchtime 3s ./chat/
func BenchmarkSendMessage(b *testing.B) {
	for _, members := range []int{2, 50} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			svc, _, ids, cid := setup(b, members)
			body := "benchmark message"
			var seq atomic.Int64
			b.SetParallelism(16) // many concurrent senders, as on a busy node
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					if _, err := svc.SendMessage(ctx, chat.Actor{UserID: ids[int(n)%len(ids)], OrgID: store.DefaultOrg},
						chat.NewMessage{ClientID: fmt.Sprint(n), CID: cid, Body: &body}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			secs := time.Since(start).Seconds()
			b.ReportMetric(float64(b.N)/secs, "msgs/s")
			b.ReportMetric(float64(b.N*members)/secs, "recipient-events/s")
		})
	}
}

// TestPruneRetention: events older than the retention leave the log; newer
// ones stay.
func TestPruneRetention(t *testing.T) {
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	svc, err := chat.New(ctx, db, chat.Config{Retention: time.Hour, Now: clock}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	a, b := store.NewID(), store.NewID()
	for _, id := range []string{a, b} {
		if err := db.CreateUser(ctx, &store.User{ID: id, OrgID: store.DefaultOrg, Login: "u" + id[18:], PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	conv, err := svc.CreateConversation(ctx, chat.Actor{UserID: a, OrgID: store.DefaultOrg}, chat.NewConversation{Type: "u", Participants: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	body := "fresh"
	if _, err := svc.SendMessage(ctx, chat.Actor{UserID: a, OrgID: store.DefaultOrg}, chat.NewMessage{ClientID: "m", CID: conv.ID, Body: &body}); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Prune(ctx); err != nil || n != 1 {
		t.Fatalf("prune: got %d, %v, want 1 (the creation event)", n, err)
	}
	if evs, _ := db.Events(ctx, store.EventQuery{UserID: b, Limit: 10}); len(evs) != 1 {
		t.Fatalf("left in the log: got %d events, want the fresh message", len(evs))
	}
}

// TestOtherOrganization: a user of another organization learns nothing about
// a conversation, not even that it exists, and cannot add its members.
func TestOtherOrganization(t *testing.T) {
	svc, db, ids, cid := setup(t, 3)
	if err := db.CreateOrganization(ctx, &store.Organization{ID: "acme", Name: "Acme", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	stranger := &store.User{ID: store.NewID(), OrgID: "acme", Login: "user_0", PasswordHash: "h"} // same login, other org
	if err := db.CreateUser(ctx, stranger); err != nil {
		t.Fatal(err)
	}
	x := chat.Actor{UserID: stranger.ID, OrgID: "acme"}
	body := "hi"
	if _, err := svc.SendMessage(ctx, x, chat.NewMessage{ClientID: "m", CID: cid, Body: &body}); err == nil || err.Error() != "404 Conversation not found." {
		t.Fatalf("send into another org's conversation: got %v, want 404 Conversation not found.", err)
	}
	if _, err := svc.ListMessages(ctx, x, chat.MessageQuery{CID: cid}); err == nil || err.Error() != "404 Conversation not found." {
		t.Fatalf("list: got %v, want 404", err)
	}
	if m, err := svc.ParticipantsOf(ctx, x, []string{cid}); err != nil || len(m) != 0 {
		t.Fatalf("participants: got %v, %v, want nothing", m, err)
	}
	if cs, err := svc.ListConversations(ctx, x, chat.ConversationQuery{}); err != nil || len(cs) != 0 {
		t.Fatalf("list conversations: got %v, %v", cs, err)
	}
	if _, err := svc.CreateConversation(ctx, x, chat.NewConversation{Type: "u", Participants: []string{ids[1]}}); err == nil || err.Error() != "422 The specified user is incorrect." {
		t.Fatalf("private chat with another org's user: got %v, want 422 The specified user is incorrect.", err)
	}
	if err := svc.EditMessage(ctx, x, "whatever", "x"); err == nil || err.Error() != "422 Message ID not found." {
		t.Fatalf("edit: got %v", err)
	}
	if err := svc.LeaveConversation(ctx, x, cid); err == nil || err.Error() != "400 Bad Request." {
		t.Fatalf("leave: got %v, want 400 Bad Request.", err)
	}
}
