package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

// TestBackgroundCheckpoint: what commits append to the write-ahead log is
// copied into the database file by the store's own goroutine, well before
// the log reaches the size at which a commit would checkpoint itself; a
// store that left checkpoints to its commits leaves the file as it was.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "samagate.db")
	db := open(t, path)
	defer db.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	conv := &store.Conversation{ID: store.NewID(), OrgID: store.DefaultOrg, Type: store.TypeGroup, OwnerID: "a", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateConversation(ctx, conv, []store.Participant{{UserID: "a", Role: store.RoleOwner, JoinedAt: now}}); err != nil {
		t.Fatal(err)
	}
	// Let a first checkpoint take the schema, then measure the file.
	time.Sleep(500 * time.Millisecond)
	before := fileSize(t, path)
	body := strings.Repeat("x", 2000)
	for i := range 300 { // about 150 pages of messages: far below the backstop
		m := store.Message{ID: store.NewID(), ConversationID: conv.ID, From: "a", Body: body, CreatedAt: now, UpdatedAt: now}
		if _, err := db.Commit(ctx, []*store.Batch{{Messages: []store.Message{m}}}); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) < before+500_000 {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes 5s after 600 kB of messages (was %d): the log was not checkpointed", fileSize(t, path), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
