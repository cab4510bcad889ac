package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// Hot is one store call of the message or connect path, for benchmarks of a
// backend (prepared statements against the unprepared path).
type Hot struct {
	Name string
	Run  func(i int) error
}

// HotPaths stores a user with a session and a group of 50 members with some
// history in s, and returns the calls a message and a connect make:
// the membership pre-check's reads, a message's commit (number, message,
// event, touch, members with the sender's check), the idempotent retry's
// lookup, and the connect path's session and user.
func HotPaths(tb testing.TB, s store.Store) []Hot {
	tb.Helper()
	ids, err := s.NodeNumber(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	gen := store.NewIDGen(ids)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := newUser(store.DefaultOrg, "hot_"+gen.Next(now), "", "")
	mustCreateTB(tb, s, u)
	sess := &store.Session{ID: gen.Next(now), UserID: u.ID, OrgID: u.OrgID, DeviceID: "d", CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		tb.Fatal(err)
	}
	who := []string{u.ID}
	for i := range 49 {
		who = append(who, fmt.Sprintf("member-%02d-%s", i, gen.Next(now)))
	}
	g := newConversation(store.TypeGroup, u.ID, now)
	if err := s.CreateConversation(ctx, g, members(now, who...)); err != nil {
		tb.Fatal(err)
	}
	first := messageBatch(gen.Next(now), g.ID, u.ID, "first", now)
	first.Messages[0].ClientID = "first"
	if _, err := s.Commit(ctx, []*store.Batch{first}); err != nil {
		tb.Fatal(err)
	}
	commit := func(n int) error {
		batches := make([]*store.Batch, n)
		for i := range batches {
			b := messageBatch(gen.Next(now), g.ID, u.ID, "hot", now)
			b.Touch = map[string]time.Time{g.ID: now}
			b.Require = []store.Membership{{ConversationID: g.ID, UserID: u.ID}}
			batches[i] = b
		}
		_, err := s.Commit(ctx, batches)
		return err
	}
	return []Hot{
		{"Conversation", func(int) error { _, err := s.Conversation(ctx, store.DefaultOrg, g.ID); return err }},
		{"Participant", func(int) error { _, err := s.Participant(ctx, g.ID, u.ID); return err }},
		{"Participants", func(int) error { _, err := s.Participants(ctx, g.ID); return err }},
		{"MessageByClientID", func(int) error { _, err := s.MessageByClientID(ctx, g.ID, u.ID, "first"); return err }},
		{"Session", func(int) error { _, err := s.Session(ctx, sess.ID); return err }},
		{"UserByID", func(int) error { _, err := s.UserByID(ctx, u.OrgID, u.ID); return err }},
		{"TouchSession", func(int) error { return s.TouchSession(ctx, sess.ID, now) }},
		{"Commit1", func(int) error { return commit(1) }},
		{"Commit16", func(int) error { return commit(16) }},
	}
}

func mustCreateTB(tb testing.TB, s store.Store, u *store.User) {
	tb.Helper()
	if err := s.CreateUser(ctx, u); err != nil {
		tb.Fatalf("create %s: %v", u.Login, err)
	}
}
