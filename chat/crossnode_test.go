package chat_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/internal/testenv"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/sqlite"
)

// sharedStores opens two stores on one database, as two nodes have:
// a SQLite file opened twice, or one PostgreSQL database (skipped when
// the test script has not started PostgreSQL; make test always does).
var sharedStores = map[string]func(t *testing.T) (store.Store, store.Store){
	"sqlite": func(t *testing.T) (store.Store, store.Store) {
		path := filepath.Join(t.TempDir(), "shared.db")
		var out [2]store.Store
		for i := range out {
			db, err := sqlite.Open(ctx, sqlite.Config{Path: path})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			out[i] = db
		}
		return out[0], out[1]
	},
	"postgres": func(t *testing.T) (store.Store, store.Store) {
		url := testenv.Database(t)
		var out [2]store.Store
		for i := range out {
			db, err := postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 8})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			out[i] = db
		}
		return out[0], out[1]
	},
}

// node is one chat service of a two-node test, its store calls counted and
// its commits recorded.
type node struct {
	svc *chat.Service
	cs  *countingStore
	rec *sinkRecorder
}

func newNode(t *testing.T, st store.Store, sink func(chat.Commit)) *node {
	t.Helper()
	n := &node{cs: newCountingStore(st), rec: &sinkRecorder{}}
	svc, err := chat.New(ctx, n.cs, chat.Config{Sink: func(c chat.Commit) {
		n.rec.sink(c)
		if sink != nil {
			sink(c)
		}
	}}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	n.svc = svc
	return n
}

// users creates users of the given logins in st.
func users(t *testing.T, st store.Store, logins ...string) map[string]chat.Actor {
	t.Helper()
	out := map[string]chat.Actor{}
	for _, login := range logins {
		u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: login + "_" + testenv.Suffix(), PasswordHash: "h",
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		out[login] = chat.Actor{UserID: u.ID, OrgID: store.DefaultOrg, Conn: "sock-" + login}
	}
	return out
}

// membershipCommit is the newest commit of n that changed cid.
func membershipCommit(t *testing.T, n *node, cid string) chat.Commit {
	t.Helper()
	cs := n.rec.all()
	for i := len(cs) - 1; i >= 0; i-- {
		if slices.Contains(cs[i].MembershipChanged, cid) {
			return cs[i]
		}
	}
	t.Fatalf("no commit changed %s", cid)
	return chat.Commit{}
}

// deliveredBody reports whether any commit of rec delivered a frame with body.
func deliveredBody(rec *sinkRecorder, body string) bool {
	for _, c := range rec.all() {
		for _, d := range c.Deliveries {
			if strings.Contains(string(d.Frame), `"body":"`+body+`"`) {
				return true
			}
		}
	}
	return false
}

// TestCrossNodeMembership: node B removes a member whom node A's cache
// still holds: the member's message through A passes A's pre-check without
// a read, and its commit refuses it (403): nothing stored, nothing
// delivered. A member added on B sends through A at once (A reads what its
// cache does not hold). Once A has observed B's removal, A's pre-check
// answers 403 itself, without a commit.
func TestCrossNodeMembership(t *testing.T) {
	for name, open := range sharedStores {
		t.Run(name, func(t *testing.T) {
			stA, stB := open(t)
			a, b := newNode(t, stA, nil), newNode(t, stB, nil)
			as := users(t, stB, "ann", "bob", "xan")
			ann, bob, xan := as["ann"], as["bob"], as["xan"]
			cid := group(t, b.svc, ann, bob, xan)
			send(t, a.svc, xan, cid, "warm", "warm") // A's cache holds xan as a member

			if _, err := b.svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, RemoveParticipants: []string{xan.UserID}}); err != nil {
				t.Fatal(err)
			}
			body := "after removal"
			var submitErr, waitErr error
			calls := a.cs.during(func() {
				var wait func(context.Context) (*chat.Ask, error)
				wait, submitErr = a.svc.SubmitMessage(ctx, xan, chat.NewMessage{ClientID: "late", CID: cid, Body: &body})
				if submitErr == nil {
					_, waitErr = wait(ctx)
				}
			})
			if submitErr != nil || !errors.Is(waitErr, protocol.ErrForbidden) {
				t.Fatalf("removed member through a stale cache: submit %v, wait %v, want the commit to refuse with 403", submitErr, waitErr)
			}
			if !slices.Equal(calls, []string{"Commit"}) {
				t.Fatalf("store calls: %v, want the cached pre-check and the refused commit only", calls)
			}
			if _, err := stB.MessageByClientID(ctx, cid, xan.UserID, "late"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the refused message: got %v, want it not stored", err)
			}
			if deliveredBody(a.rec, body) || deliveredBody(b.rec, body) {
				t.Fatal("the refused message was delivered")
			}

			send(t, a.svc, bob, cid, "reload", "reload") // A's cache holds the members without xan
			if _, err := b.svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, AddParticipants: []string{xan.UserID}}); err != nil {
				t.Fatal(err)
			}
			send(t, a.svc, xan, cid, "back", "back again") // not observed by A: read

			if _, err := b.svc.UpdateConversation(ctx, ann, chat.ConversationUpdate{ID: cid, RemoveParticipants: []string{xan.UserID}}); err != nil {
				t.Fatal(err)
			}
			a.svc.Observe(membershipCommit(t, b, cid)) // what the gateway's sequencer does on release
			calls = a.cs.during(func() {
				_, submitErr = a.svc.SubmitMessage(ctx, xan, chat.NewMessage{ClientID: "observed", CID: cid, Body: &body})
			})
			if !errors.Is(submitErr, protocol.ErrForbidden) || slices.Contains(calls, "Commit") {
				t.Fatalf("after observing the removal: got %v with calls %v, want 403 from the pre-check, no commit", submitErr, calls)
			}
			t.Logf("%s: stale cache -> commit refuses (403, calls %v); added on B -> sends through A; observed removal -> 403 before any commit", name, []string{"Commit"})
		})
	}
}

// TestMembershipRace: a member sends through node A as fast as it can
// while node B removes and re-adds them over and over, each node observing
// the other's commits a little late (as over the bus). Every send is either
// stored or refused with 403, and no message of theirs is stored at a
// position where they were not a member.
func TestMembershipRace(t *testing.T) {
	for name, open := range sharedStores {
		t.Run(name, func(t *testing.T) {
			stA, stB := open(t)
			var a, b *node
			var bus sync.WaitGroup
			t.Cleanup(bus.Wait)
			late := func(to **node) func(chat.Commit) {
				return func(c chat.Commit) {
					bus.Go(func() {
						time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
						(*to).svc.Observe(c)
					})
				}
			}
			a, b = newNode(t, stA, late(&b)), newNode(t, stB, late(&a))
			as := users(t, stB, "ann", "bob", "xan")
			ann, bob, xan := as["ann"], as["bob"], as["xan"]
			cid := group(t, b.svc, ann, bob, xan)

			const toggles = 20
			var stop atomic.Bool
			var sent, refused atomic.Int64
			var wg sync.WaitGroup
			for i := range 4 {
				who := []chat.Actor{xan, xan, xan, bob}[i]
				wg.Go(func() {
					body := "race"
					for n := 0; !stop.Load(); n++ {
						_, err := a.svc.SendMessage(ctx, who, chat.NewMessage{ClientID: fmt.Sprint(i, "-", n), CID: cid, Body: &body})
						switch {
						case err == nil:
							sent.Add(1)
						case errors.Is(err, protocol.ErrForbidden) && who == xan:
							refused.Add(1)
						default:
							t.Errorf("send by %s: %v", who.Conn, err)
							return
						}
					}
				})
			}
			for i := range 2 * toggles {
				in := chat.ConversationUpdate{ID: cid, RemoveParticipants: []string{xan.UserID}}
				if i%2 == 1 {
					in = chat.ConversationUpdate{ID: cid, AddParticipants: []string{xan.UserID}}
				}
				if _, err := b.svc.UpdateConversation(ctx, ann, in); err != nil {
					t.Fatal(err)
				}
				time.Sleep(2 * time.Millisecond)
			}
			stop.Store(true)
			wg.Wait()

			// B commits only the toggles: removals and additions in turn.
			var changes []int64
			for _, c := range b.rec.all() {
				if !c.Void && slices.Contains(c.MembershipChanged, cid) {
					changes = append(changes, c.Seq)
				}
			}
			if len(changes) != 2*toggles {
				t.Fatalf("%d membership commits on B, want %d", len(changes), 2*toggles)
			}
			member := func(seq int64) bool { // removed by changes[0], added by changes[1], ...
				n, _ := slices.BinarySearch(changes, seq)
				return n%2 == 0
			}
			ms, err := stB.ConversationMessages(ctx, cid, store.MessageQuery{Limit: 100000})
			if err != nil {
				t.Fatal(err)
			}
			stored := 0
			for _, m := range ms {
				if m.From != xan.UserID || m.X != nil {
					continue
				}
				stored++
				if !member(store.SeqOf(m.Pos)) {
					t.Fatalf("message %s of xan stored at commit %d, when xan was not a member (changes at %v)", m.ID, store.SeqOf(m.Pos), changes)
				}
			}
			if refused.Load() == 0 || stored == 0 {
				t.Fatalf("xan stored %d, refused %d: the race did not exercise both sides", stored, refused.Load())
			}
			t.Logf("%s: %d sends stored (%d by xan), %d refused with 403, across %d removals and re-adds; none stored while not a member",
				name, sent.Load(), stored, refused.Load(), toggles)
		})
	}
}
