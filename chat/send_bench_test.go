package chat_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/internal/testenv"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/sqlite"
)

// BenchmarkSendPath measures the message path of one node through
// SendMessage (membership pre-check, group commit, ack after durable):
// messages per second and allocations per message, with 1, 16 and 64
// concurrent senders, each a member of one of 16 groups of 50, on SQLite
// and on PostgreSQL (when the test script has started it). It uses only
// the API that predates issue 11, so that the same file measures a build
// of an older commit (README: "before and after"):
//
//	go test -run '^$' -bench SendPath -benchmem -benchtime 4000x ./chat/
func BenchmarkSendPath(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) store.Store
	}{
		{"sqlite", func(b *testing.B) store.Store {
			db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "bench.db")})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			return db
		}},
		{"postgres", func(b *testing.B) store.Store {
			db, err := postgres.Open(ctx, postgres.Config{URL: testenv.Database(b)})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			return db
		}},
	}
	for _, be := range backends {
		for _, senders := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/senders=%d", be.name, senders), func(b *testing.B) {
				benchSendPath(b, be.open(b), senders)
			})
		}
	}
}

// benchSendPath sends b.N messages from senders goroutines into 16 groups
// of 50 members.
func benchSendPath(b *testing.B, st store.Store, senders int) {
	const groups, members = 16, 50
	svc, err := chat.New(ctx, st, chat.Config{}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(svc.Close)
	now := time.Now()
	var uids []string
	for i := range members {
		u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: fmt.Sprintf("bench%d_%s", i, testenv.Suffix()),
			PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
		uids = append(uids, u.ID)
	}
	cids := make([]string, groups)
	for g := range cids {
		c, err := svc.CreateConversation(ctx, chat.Actor{UserID: uids[0], OrgID: store.DefaultOrg},
			chat.NewConversation{Type: "g", Name: fmt.Sprint("bench", g), Participants: uids[1:]})
		if err != nil {
			b.Fatal(err)
		}
		cids[g] = c.ID
	}
	body := "benchmark message"
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for s := range senders {
		a := chat.Actor{UserID: uids[s%members], OrgID: store.DefaultOrg, Conn: fmt.Sprint("sock", s)}
		cid := cids[s%groups]
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				if _, err := svc.SendMessage(ctx, a, chat.NewMessage{ClientID: fmt.Sprint(n), CID: cid, Body: &body}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
