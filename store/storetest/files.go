package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/samagate/samagate/store"
)

func newFile(uploader string, at time.Time) store.File {
	return store.File{ID: store.NewID(), OrgID: store.DefaultOrg, UploaderID: uploader, Name: "a.png", Size: 123,
		ContentType: "image/png", CreatedAt: at}
}

// files: metadata round trip, org scoping, links and who may read, the
// unattached list the collector works from, and delete.
func files(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	a, b, c := store.NewID(), store.NewID(), store.NewID()
	f1, f2, f3 := newFile(a, now.Add(-48*time.Hour)), newFile(a, now.Add(-25*time.Hour)), newFile(b, now)
	if err := s.CreateFiles(ctx, []store.File{f1, f2, f3}); err != nil {
		t.Fatal(err)
	}
	got, err := s.File(ctx, store.DefaultOrg, f1.ID)
	if err != nil || *got != f1 {
		t.Fatalf("File = %+v, %v; want %+v", got, err, f1)
	}
	if _, err := s.File(ctx, "other-org", f1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("File of another organization: err %v, want ErrNotFound", err)
	}
	if err := s.CreateFiles(ctx, []store.File{f1}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateFiles with a taken id: err %v, want ErrConflict", err)
	}

	canRead := func(who, id string, want bool) {
		t.Helper()
		ok, err := s.CanReadFile(ctx, store.DefaultOrg, who, id)
		if err != nil || ok != want {
			t.Fatalf("CanReadFile(%s, %s) = %v, %v; want %v", who, id, ok, err, want)
		}
	}
	canRead(a, f1.ID, true) // the uploader
	canRead(b, f1.ID, false)
	conv := createConversation(t, s, store.TypeGroup, now, a, b)
	ids := newIDs(t, s)
	m1, m2 := ids.Next(now), ids.Next(now)
	if err := s.LinkFiles(ctx, conv.ID, m1, []string{f1.ID}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.LinkFiles(ctx, conv.ID, m1, []string{f1.ID}, now); err != nil {
		t.Fatalf("linking twice: %v", err)
	}
	canRead(b, f1.ID, false) // the message is not committed yet
	mustCommit(t, s, messageBatch(m1, conv.ID, a, "", now))
	canRead(b, f1.ID, true) // a member of a conversation carrying it
	canRead(c, f1.ID, false)
	if err := s.LinkFiles(ctx, conv.ID, m2, []string{f1.ID}, now.Add(time.Second)); err != nil {
		t.Fatalf("linking to a second message: %v", err)
	}
	mustCommit(t, s, messageBatch(m2, conv.ID, a, "", now))
	mustCommit(t, s, &store.Batch{Deletes: []store.MessageDelete{{ConversationID: conv.ID, IDs: []string{m1}}}})
	canRead(b, f1.ID, true) // m2 still carries it
	mustCommit(t, s, &store.Batch{Deletes: []store.MessageDelete{{ConversationID: conv.ID, IDs: []string{m2}}}})
	canRead(b, f1.ID, false) // no message carries it any more
	canRead(a, f1.ID, true)  // the uploader still may
	// A link to a deleted message stays inert.
	if err := s.LinkFiles(ctx, conv.ID, m1, []string{f1.ID}, now); err != nil {
		t.Fatal(err)
	}
	canRead(b, f1.ID, false)
	if ok, err := s.CanReadFile(ctx, "other-org", a, f1.ID); err != nil || ok {
		t.Fatalf("CanReadFile in another organization = %v, %v; want false", ok, err)
	}
	canRead(a, "unknown", false)
	if got, _ := s.File(ctx, store.DefaultOrg, f1.ID); !got.AttachedAt.Equal(now) {
		t.Fatalf("AttachedAt = %v, want the first link's %v", got.AttachedAt, now)
	}

	old, err := s.UnattachedFiles(ctx, now.Add(-24*time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != 1 || old[0].ID != f2.ID {
		t.Fatalf("UnattachedFiles = %+v, want only %s", old, f2.ID)
	}
	if ok, err := s.DeleteUnattachedFile(ctx, f2.ID); err != nil || !ok {
		t.Fatalf("DeleteUnattachedFile = %v, %v; want true", ok, err)
	}
	if ok, err := s.DeleteUnattachedFile(ctx, f2.ID); err != nil || ok {
		t.Fatalf("deleting twice = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.File(ctx, store.DefaultOrg, f2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("File after delete: err %v, want ErrNotFound", err)
	}
	m3 := ids.Next(now)
	if err := s.LinkFiles(ctx, conv.ID, m3, []string{f1.ID}, now); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, messageBatch(m3, conv.ID, a, "", now))
	canRead(b, f1.ID, true)
	if ok, err := s.DeleteUnattachedFile(ctx, f1.ID); err != nil || ok { // attached: it stays
		t.Fatalf("DeleteUnattachedFile of an attached file = %v, %v; want false, nil", ok, err)
	}
	canRead(b, f1.ID, true)
}
