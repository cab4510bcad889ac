package chat

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

// pausedCommitter is a committer whose loop has not started, so requests
// queue up and are committed as one group once start is called.
func pausedCommitter(t *testing.T, st store.Messages, sink func(Commit)) (*committer, func()) {
	t.Helper()
	c := &committer{st: st, maxSize: 64, timeout: 5 * time.Second, sink: sink, reqs: make(chan *commitReq, 64),
		stop: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(c.close)
	return c, func() { go c.run() }
}

func openStore(t *testing.T) (*sqlite.DB, *store.Conversation) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	now := time.Now()
	conv := &store.Conversation{ID: "conv-1", OrgID: store.DefaultOrg, Type: store.TypeGroup, Name: "g", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateConversation(context.Background(), conv, []store.Participant{{UserID: "u1", JoinedAt: now}}); err != nil {
		t.Fatal(err)
	}
	return db, conv
}

// messageBatch is one message with its event into conversation cid.
func messageBatch(id, cid string) *store.Batch {
	now := time.Now()
	return &store.Batch{
		Messages: []store.Message{{ID: id, ConversationID: cid, From: "u1", Body: id, T: now.Unix(), CreatedAt: now, UpdatedAt: now}},
		Events:   []store.Event{{ID: id, ConversationID: cid, Payload: []byte(`{"message":{}}`), CreatedAt: now}},
	}
}

// TestPoisonedBatchFailsAlone: one batch of a group commit writes into a
// conversation that no longer exists; it fails, and only it: the other
// batches of the same group are retried alone and committed.
func TestPoisonedBatchFailsAlone(t *testing.T) {
	db, conv := openStore(t)
	var mu sync.Mutex
	var delivered []string
	c, start := pausedCommitter(t, db, func(cm Commit) {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range cm.Deliveries {
			delivered = append(delivered, d.EventID)
		}
	})
	batches := map[string]*store.Batch{
		"good-1": messageBatch("good-1", conv.ID),
		"poison": messageBatch("poison", "deleted-conversation"),
		"good-2": messageBatch("good-2", conv.ID),
	}
	errs := map[string]error{}
	var wg sync.WaitGroup
	for id, b := range batches {
		wg.Go(func() {
			err := c.commit(context.Background(), b, "")
			mu.Lock()
			errs[id] = err
			mu.Unlock()
		})
	}
	for len(c.reqs) < len(batches) {
		time.Sleep(time.Millisecond)
	}
	start() // all three are taken as one group
	wg.Wait()
	if errs["good-1"] != nil || errs["good-2"] != nil {
		t.Fatalf("the good batches failed with the poisoned one: %v", errs)
	}
	if errs["poison"] == nil {
		t.Fatal("the batch into a deleted conversation was accepted")
	}
	for _, id := range []string{"good-1", "good-2"} {
		if _, err := db.Message(context.Background(), conv.ID, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(delivered) != 2 {
		t.Fatalf("delivered %v, want the two good messages", delivered)
	}
}

// TestAbandonedBatchIsNotWritten: a sender that gave up (its request timed
// out) before its batch's commit began gets an error, and nothing is
// stored: an error means "not stored" unless the commit had started.
func TestAbandonedBatchIsNotWritten(t *testing.T) {
	db, conv := openStore(t)
	c, start := pausedCommitter(t, db, func(Commit) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.commit(ctx, messageBatch("late", conv.ID), "") }()
	for len(c.reqs) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned commit: got %v, want context.Canceled", err)
	}
	start()
	if err := c.commit(context.Background(), messageBatch("next", conv.ID), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Message(context.Background(), conv.ID, "late"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the abandoned message: got %v, want it not stored", err)
	}
}

// TestCommitTooLarge: a batch with more rows than a commit has positions is
// refused before it is queued.
func TestCommitTooLarge(t *testing.T) {
	db, conv := openStore(t)
	c, start := pausedCommitter(t, db, func(Commit) {})
	start()
	b := &store.Batch{}
	for range store.MaxCommitRows + 1 {
		b.Events = append(b.Events, store.Event{ID: "e", ConversationID: conv.ID, Payload: []byte(`{}`)})
	}
	if err := c.commit(context.Background(), b, ""); !errors.Is(err, store.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
}
