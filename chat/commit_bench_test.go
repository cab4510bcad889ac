package chat_test

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/internal/testenv"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
)

// BenchmarkCommitNodes measures durable messages per second committed to
// one PostgreSQL by 1 and by 3 nodes: each node is its own chat.Service
// (group committer, connection pool) with senders of its own (4 or 16),
// writing to 4 group conversations of its own. The 3-node figure shows
// whether nodes commit in parallel or queue behind each other. With 16
// senders one node alone already keeps a small box's cores busy; 4 leave
// more room.
//
// It runs twice: with PostgreSQL on the same loopback (on a small box the
// nodes and the database then share the same cores, and the figure is
// bound by CPU), and through a proxy that adds at least 0.5 ms each way,
// as a database on another machine of the network would, where a commit's
// time is mostly waiting.
//
//	make bench-commit
func BenchmarkCommitNodes(b *testing.B) {
	dbURL := testenv.Database(b)
	for _, rtt := range []time.Duration{0, time.Millisecond} {
		target := dbURL
		if rtt > 0 {
			target = delayedURL(b, dbURL, rtt/2)
		}
		for _, perNode := range []int{4, 16} {
			for _, nodes := range []int{1, 3} {
				b.Run(fmt.Sprintf("rtt=%v/senders=%d/nodes=%d", rtt, perNode, nodes), func(b *testing.B) { benchCommit(b, target, nodes, perNode) })
			}
		}
	}
}

func benchCommit(b *testing.B, dbURL string, nodes, perNode int) {
	type sender struct {
		svc *chat.Service
		a   chat.Actor
		cid string
	}
	var senders []sender
	for n := range nodes {
		db, err := postgres.Open(ctx, postgres.Config{URL: dbURL})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = db.Close() })
		svc, err := chat.New(ctx, db, chat.Config{}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(svc.Close)
		var users []string
		for i := range 4 {
			u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: fmt.Sprintf("n%d_u%d_%s", n, i, testenv.Suffix()),
				PasswordHash: "h", CreatedAt: time.Now(), UpdatedAt: time.Now()}
			if err := db.CreateUser(ctx, u); err != nil {
				b.Fatal(err)
			}
			users = append(users, u.ID)
		}
		for c := range 4 {
			owner := chat.Actor{UserID: users[c], OrgID: store.DefaultOrg}
			conv, err := svc.CreateConversation(ctx, owner, chat.NewConversation{Type: "g", Name: "bench", Participants: users})
			if err != nil {
				b.Fatal(err)
			}
			for s := range perNode / 4 { // perNode senders over the node's 4 conversations
				senders = append(senders, sender{svc: svc, a: chat.Actor{UserID: users[s], OrgID: store.DefaultOrg}, cid: conv.ID})
			}
		}
	}
	body := "benchmark message"
	var next, seq atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i := range senders {
		wg.Go(func() {
			s := senders[i]
			for next.Add(1) <= int64(b.N) {
				n := seq.Add(1)
				if _, err := s.svc.SendMessage(ctx, s.a, chat.NewMessage{ClientID: fmt.Sprint("b", n), CID: s.cid, Body: &body}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// delayedURL returns dbURL pointed at a proxy that forwards every
// connection to the database with oneWay added in each direction, without
// limiting throughput (a network's latency, not its bandwidth).
func delayedURL(b *testing.B, dbURL string, oneWay time.Duration) string {
	b.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var conns sync.WaitGroup
	b.Cleanup(func() { _ = ln.Close(); conns.Wait() })
	target := u.Host
	conns.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Go(func() {
				defer c.Close()
				d, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer d.Close()
				var pipes sync.WaitGroup
				pipes.Go(func() { delayCopy(d, c, oneWay); _ = d.Close() })
				pipes.Go(func() { delayCopy(c, d, oneWay); _ = c.Close() })
				pipes.Wait()
			})
		}
	})
	u.Host = ln.Addr().String()
	return u.String()
}

// delayCopy copies src to dst, each chunk oneWay after it was read.
func delayCopy(dst io.Writer, src io.Reader, oneWay time.Duration) {
	type chunk struct {
		data []byte
		at   time.Time
	}
	ch := make(chan chunk, 1024)
	go func() {
		defer close(ch)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{data: buf[:n], at: time.Now().Add(oneWay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range ch {
		time.Sleep(time.Until(c.at))
		if _, err := dst.Write(c.data); err != nil {
			for range ch { // drain so the reader can end
			}
			return
		}
	}
}
