package files_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/files"
	"github.com/samagate/samagate/internal/clocktest"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "t.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// group stores a group conversation of members (the first owns it).
func group(t *testing.T, db store.Store, who ...string) string {
	t.Helper()
	now := time.Now()
	c := &store.Conversation{ID: store.NewID(), OrgID: store.DefaultOrg, Type: store.TypeGroup, OwnerID: who[0],
		CreatedAt: now, UpdatedAt: now}
	var ps []store.Participant
	for _, id := range who {
		ps = append(ps, store.Participant{UserID: id, Role: store.RoleMember, JoinedAt: now})
	}
	if err := db.CreateConversation(ctx, c, ps); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func attachments(id string) []byte {
	return []byte(`[{"file_id":"` + id + `","file_width":10}]`)
}

// TestAttachVerifiesS3Uploads: a presigned PUT cannot bound what is sent,
// so before a message may carry a file the service compares the object
// with the declaration, and deletes an upload of another size or type.
func TestAttachVerifiesS3Uploads(t *testing.T) {
	db := openDB(t)
	s3, c := newS3(t)
	svc := files.New(db, s3, files.Config{}, zerolog.Nop())
	alice := store.NewID()
	cid := group(t, db, alice)
	cases := []struct {
		name, putType, body string
		want                error
	}{
		{"oversized", "text/plain", "more than three", protocol.ErrFileMismatch},
		{"short", "text/plain", "ab", protocol.ErrFileMismatch},
		{"mistyped", "text/html", "abc", protocol.ErrFileMismatch},
		{"matching", "text/plain; charset=utf-8", "abc", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := svc.Create(ctx, store.DefaultOrg, alice, []files.Declared{{Name: "a.txt", Size: 3, ContentType: "text/plain"}})
			if err != nil {
				t.Fatal(err)
			}
			id := out[0].ID
			if _, err := svc.Attach(ctx, store.DefaultOrg, alice, cid, "m", attachments(id)); !errors.Is(err, protocol.ErrFileNotUploaded) {
				t.Fatalf("attach before upload: %v, want %v", err, protocol.ErrFileNotUploaded)
			}
			if code, b := do(t, c, http.MethodPut, out[0].UploadURL, tc.putType, []byte(tc.body)); code != http.StatusOK {
				t.Fatalf("PUT: %d %s", code, b)
			}
			_, err = svc.Attach(ctx, store.DefaultOrg, alice, cid, "m", attachments(id))
			if !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
				t.Fatalf("attach: %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				return
			}
			if _, err := s3.Stat(ctx, id); !errors.Is(err, files.ErrNoObject) {
				t.Fatalf("the mismatched upload was kept: %v", err)
			}
			if _, err := db.File(ctx, store.DefaultOrg, id); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the mismatched file's metadata was kept: %v", err)
			}
		})
	}
}

// TestCollectUnattached: files no message carries are deleted, bytes and
// metadata, once a day old; attached ones stay. Run stops with its ctx.
func TestCollectUnattached(t *testing.T) {
	db := openDB(t)
	clock := clocktest.New()
	l, c := newLocal(t, clock.Now)
	svc := files.New(db, l, files.Config{Now: clock.Now, CollectInterval: time.Millisecond}, zerolog.Nop())
	alice := store.NewID()
	cid := group(t, db, alice)
	out, err := svc.Create(ctx, store.DefaultOrg, alice, []files.Declared{
		{Name: "kept.txt", Size: 3, ContentType: "text/plain"}, {Name: "dropped.txt", Size: 3, ContentType: "text/plain"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range out {
		if code, b := do(t, c, http.MethodPut, f.UploadURL, "text/plain", []byte("abc")); code != http.StatusOK {
			t.Fatalf("PUT: %d %s", code, b)
		}
	}
	kept, dropped := out[0].ID, out[1].ID
	if _, err := svc.Attach(ctx, store.DefaultOrg, alice, cid, "m", attachments(kept)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(23 * time.Hour)
	if n, err := svc.Collect(ctx); err != nil || n != 0 {
		t.Fatalf("Collect after 23h = %d, %v; want 0", n, err)
	}
	clock.Advance(2 * time.Hour)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(rctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The metadata goes first, then the bytes: wait for both before
		// the collector is stopped.
		_, metaErr := db.File(ctx, store.DefaultOrg, dropped)
		_, objErr := l.Stat(ctx, dropped)
		if errors.Is(metaErr, store.ErrNotFound) && errors.Is(objErr, files.ErrNoObject) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the unattached file was not collected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if _, err := l.Stat(ctx, dropped); !errors.Is(err, files.ErrNoObject) {
		t.Fatalf("the collected file's bytes remain: %v", err)
	}
	if _, err := l.Stat(ctx, kept); err != nil {
		t.Fatalf("the attached file was deleted: %v", err)
	}
	if _, err := db.File(ctx, store.DefaultOrg, kept); err != nil {
		t.Fatalf("the attached file's metadata was deleted: %v", err)
	}
}
