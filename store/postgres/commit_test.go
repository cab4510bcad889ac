package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/postgres"
	"github.com/samagate/samagate/store/storetest"
)

// connect opens a raw connection to dbURL beside the store: a writer or
// reader of another node, statement by statement.
func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

// TestCommitAtomic: a commit that fails part-way stores nothing, and, the
// number being taken, says which one it burned; that number resolves void.
func TestCommitAtomic(t *testing.T) {
	db := open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	conv := &store.Conversation{ID: store.NewID(), OrgID: store.DefaultOrg, Type: store.TypeGroup, OwnerID: "a",
		CreatedAt: now, UpdatedAt: now}
	if err := db.CreateConversation(ctx, conv, []store.Participant{{UserID: "a", Role: store.RoleOwner, JoinedAt: now}}); err != nil {
		t.Fatal(err)
	}
	ids := store.NewIDGen(1)
	m := store.Message{ID: ids.Next(now), ConversationID: conv.ID, From: "a", Body: "x", T: now.Unix(), CreatedAt: now, UpdatedAt: now}
	b := &store.Batch{
		Messages: []store.Message{m, m}, // the second insert violates the primary key
		Events:   []store.Event{{ID: m.ID, ConversationID: conv.ID, Payload: json.RawMessage(`{}`), CreatedAt: now}},
		Touch:    map[string]time.Time{conv.ID: now.Add(time.Minute)},
	}
	_, err := db.Commit(ctx, []*store.Batch{b})
	var aborted *store.AbortedError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &aborted) {
		t.Fatalf("commit with a duplicate: got %v, want an AbortedError of ErrConflict", err)
	}
	if last, err := db.LastCommit(ctx); err != nil || last != aborted.Seq {
		t.Fatalf("last commit: got %d, %v, want the burned %d", last, err, aborted.Seq)
	}
	if r, err := db.ResolveCommit(ctx, aborted.Seq); err != nil || !r.Void {
		t.Fatalf("resolve the burned number: got %+v, %v, want void", r, err)
	}
	if _, err := db.MessageByID(ctx, m.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("message of a failed batch: got %v, want ErrNotFound", err)
	}
	if es, err := db.Events(ctx, store.EventQuery{UserID: "a", Limit: 10}); err != nil || len(es) != 0 {
		t.Fatalf("events of a failed batch: got %v, %v, want none", es, err)
	}
	if c, err := db.Conversation(ctx, store.DefaultOrg, conv.ID); err != nil || !c.UpdatedAt.Equal(now) {
		t.Fatalf("touch of a failed batch: got %v, %v, want updated_at %v", c, err, now)
	}
	b.Messages = b.Messages[:1]
	done, err := db.Commit(ctx, []*store.Batch{b})
	if err != nil || done.Seq != aborted.Seq+1 {
		t.Fatalf("commit again: got %+v, %v, want number %d", done, err, aborted.Seq+1)
	}
	if c, err := db.Conversation(ctx, store.DefaultOrg, conv.ID); err != nil || !c.UpdatedAt.Equal(now.Add(time.Minute)) || c.LastPos != b.Events[0].Pos {
		t.Fatalf("touch: got %v, %v, want updated_at %v", c, err, now.Add(time.Minute))
	}
}

// TestResolveWaitsForWriter: a reader resolving a number that a writer on
// another node holds, its transaction open, waits for the writer, and then
// sees its commit, or the number void if the writer rolls back.
func TestResolveWaitsForWriter(t *testing.T) {
	for _, commit := range []bool{true, false} {
		name := map[bool]string{true: "writer commits", false: "writer rolls back"}[commit]
		t.Run(name, func(t *testing.T) {
			dbURL := freshDB(t)
			db := openURL(t, dbURL)
			ctx := context.Background()
			tx, err := connect(t, dbURL).Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tx.Rollback(ctx) }()
			var seq int64
			if err := tx.QueryRow(ctx, `INSERT INTO commits (seq, at) VALUES (nextval('commit_seq'), 0) RETURNING seq`).Scan(&seq); err != nil {
				t.Fatal(err)
			}
			id := store.NewIDGen(9).Next(time.Now())
			if _, err := tx.Exec(ctx, `INSERT INTO events (id, user_id, payload, pos, created_at) VALUES ($1, 'u', '{}', $2, 1)`,
				id, store.Pos(seq, 0)); err != nil {
				t.Fatal(err)
			}
			if last, err := db.LastCommit(ctx); err != nil || last != seq {
				t.Fatalf("last commit while the writer runs: got %d, %v, want %d", last, err, seq)
			}
			type result struct {
				c   *store.Committed
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := db.ResolveCommit(ctx, seq)
				done <- result{c, err}
			}()
			select {
			case r := <-done:
				t.Fatalf("resolve returned while the writer was open: %+v, %v", r.c, r.err)
			case <-time.After(200 * time.Millisecond):
			}
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			var r result
			select {
			case r = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("resolve still waiting after the writer ended")
			}
			switch {
			case r.err != nil:
				t.Fatal(r.err)
			case commit && (r.c.Void || len(r.c.Events) != 1 || r.c.Events[0].ID != id || r.c.Events[0].Pos != store.Pos(seq, 0)):
				t.Fatalf("resolved: got %+v, want commit %d with event %s", r.c, seq, id)
			case !commit && (!r.c.Void || len(r.c.Events) != 0):
				t.Fatalf("resolved: got %+v, want void", r.c)
			}
		})
	}
}

// TestVoidMarkFencesWriter: once a reader has marked a number void, the
// writer that took it but had not recorded it yet fails on the primary key
// and must retry; the number stays void, and the next commit moves on.
// TestCommitsDoNotWaitForEachOther: the write path holds no lock shared by
// the nodes. Node A's commit is stuck (its conversation's row is locked by
// someone else, so its first statement waits); node B commits to another
// conversation meanwhile, more than once. Under a cluster-wide lock B would
// wait for A. A waits before it takes its number, so it holds none that
// the other nodes would wait for: it commits after B's numbers.
func TestCommitsDoNotWaitForEachOther(t *testing.T) {
	dbURL := freshDB(t)
	nodeA, nodeB := openURL(t, dbURL), openURL(t, dbURL)
	ctx := context.Background()
	now := time.Now()
	convs := map[string]*store.Conversation{}
	for _, id := range []string{"conv-a", "conv-b"} {
		convs[id] = &store.Conversation{ID: id, OrgID: store.DefaultOrg, Type: store.TypeGroup, Name: id, CreatedAt: now, UpdatedAt: now}
		if err := nodeA.CreateConversation(ctx, convs[id], []store.Participant{{UserID: "u", JoinedAt: now}}); err != nil {
			t.Fatal(err)
		}
	}
	blocker, err := connect(t, dbURL).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = blocker.Rollback(ctx) }()
	if _, err := blocker.Exec(ctx, `SELECT 1 FROM conversations WHERE id = 'conv-a' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	ids := store.NewIDGen(3)
	batch := func(cid string) []*store.Batch {
		return []*store.Batch{{
			Events: []store.Event{{ID: ids.Next(time.Now()), ConversationID: cid, Payload: []byte(`{}`), CreatedAt: time.Now()}},
			Touch:  map[string]time.Time{cid: time.Now()},
		}}
	}
	stuck := make(chan error, 1)
	go func() {
		_, err := nodeA.Commit(ctx, batch("conv-a"))
		stuck <- err
	}()
	time.Sleep(200 * time.Millisecond) // A waits on the row
	var lastB int64
	for i := range 3 {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := nodeB.Commit(cctx, batch("conv-b"))
		cancel()
		if err != nil {
			t.Fatalf("commit %d of node B while node A's is open: %v (a lock shared by the nodes?)", i, err)
		}
		lastB = c.Seq
	}
	select {
	case err := <-stuck:
		t.Fatalf("node A's commit ended while its row was locked: %v", err)
	default:
	}
	if err := blocker.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-stuck; err != nil {
		t.Fatalf("node A's commit after the row was free: %v", err)
	}
	if last, err := nodeA.LastCommit(ctx); err != nil || last != lastB+1 {
		t.Fatalf("numbers: got last %d, %v, want A's commit numbered after B's last %d (it held no number while it waited)", last, err, lastB)
	}
}

func TestVoidMarkFencesWriter(t *testing.T) {
	dbURL := freshDB(t)
	db := openURL(t, dbURL)
	ctx := context.Background()
	conn := connect(t, dbURL)
	var seq int64
	if err := conn.QueryRow(ctx, `SELECT nextval('commit_seq')`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if r, err := db.ResolveCommit(ctx, seq); err != nil || !r.Void {
		t.Fatalf("resolve a number nobody recorded: got %+v, %v, want void", r, err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO commits (seq, at) VALUES ($1, 0)`, seq)
	_ = tx.Rollback(ctx)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		t.Fatalf("the writer records its number late: got %v, want a unique violation", err)
	}
	if r, err := db.ResolveCommit(ctx, seq); err != nil || !r.Void {
		t.Fatalf("resolve again: got %+v, %v, want still void", r, err)
	}
	next, err := db.Commit(ctx, []*store.Batch{{}})
	if err != nil || next.Seq != seq+1 {
		t.Fatalf("next commit: got %+v, %v, want number %d", next, err, seq+1)
	}
}

// TestCommitLosesFencedNumber: Commit itself, when a reader marked its
// number void between nextval and the insert, fails with a plain error:
// neither store.ErrConflict (no client id is taken) nor AbortedError (it
// never learnt the number); it stores nothing, and the retry succeeds.
func TestCommitLosesFencedNumber(t *testing.T) {
	dbURL := freshDB(t)
	db := openURL(t, dbURL)
	ctx := context.Background()
	last, err := db.LastCommit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The reader's mark, placed where the race would place it: on the
	// number the next commit takes.
	execOn(t, dbURL, `INSERT INTO commits (seq, void, at) VALUES ($1, true, 0)`, last+1)
	b := &store.Batch{Events: []store.Event{{ID: store.NewIDGen(3).Next(time.Now()), UserID: "u", Payload: json.RawMessage(`{}`), CreatedAt: time.Now()}}}
	_, err = db.Commit(ctx, []*store.Batch{b})
	var aborted *store.AbortedError
	if err == nil || errors.Is(err, store.ErrConflict) || errors.As(err, &aborted) {
		t.Fatalf("commit on a fenced number: got %v, want a plain error", err)
	}
	if es, err := db.Events(ctx, store.EventQuery{UserID: "u", Limit: -1}); err != nil || len(es) != 0 {
		t.Fatalf("events of the fenced commit: got %+v, %v", es, err)
	}
	done, err := db.Commit(ctx, []*store.Batch{b})
	if err != nil || done.Seq != last+2 || b.Events[0].Pos != store.Pos(last+2, 0) {
		t.Fatalf("retry: got %+v, %v, want number %d", done, err, last+2)
	}
}

// TestNodeNumbers: nodes starting at once against one database get
// distinct numbers.
func TestNodeNumbers(t *testing.T) {
	dbURL := freshDB(t)
	dbs := []*postgres.DB{openURL(t, dbURL), openURL(t, dbURL)}
	var mu sync.Mutex
	seen := map[uint32]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 10 {
				n, err := dbs[i%2].NodeNumber(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("node number %d handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestPositionsMigration: a database at the schema before commit
// positions (0010) keeps the order of its history, read marks and event
// log through the migration, and new commits follow (storetest.LegacyData).
func TestPositionsMigration(t *testing.T) {
	dbURL := freshDB(t)
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	execOn(t, dbURL, `CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	for _, f := range files {
		if filepath.Base(f) >= "0011" {
			break
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		execOn(t, dbURL, string(body))
		execOn(t, dbURL, `INSERT INTO schema_migrations VALUES ('`+filepath.ToSlash(f)+`', 1)`)
	}
	for _, q := range storetest.LegacyData {
		execOn(t, dbURL, q)
	}
	storetest.CheckLegacy(t, openURL(t, dbURL))
}
