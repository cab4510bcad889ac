package chat_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlite"
)

// sinkRecorder keeps every commit the committer hands over.
type sinkRecorder struct {
	mu      sync.Mutex
	commits []chat.Commit
}

func (r *sinkRecorder) sink(c chat.Commit) {
	r.mu.Lock()
	r.commits = append(r.commits, c)
	r.mu.Unlock()
}

func (r *sinkRecorder) all() []chat.Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.commits)
}

// newService opens a store with users and a service whose commits go to a
// recorder.
func newService(t *testing.T, users ...string) (*chat.Service, store.Store, *sinkRecorder, map[string]chat.Actor) {
	t.Helper()
	db, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	rec := &sinkRecorder{}
	svc, err := chat.New(ctx, db, chat.Config{Sink: rec.sink}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	actors := map[string]chat.Actor{}
	for _, login := range users {
		u := &store.User{ID: store.NewID(), OrgID: store.DefaultOrg, Login: login, PasswordHash: "h",
			CreatedAt: time.Now(), UpdatedAt: time.Now()}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		actors[login] = chat.Actor{UserID: u.ID, OrgID: store.DefaultOrg, Conn: "sock-" + login}
	}
	return svc, db, rec, actors
}

func group(t *testing.T, svc *chat.Service, owner chat.Actor, members ...chat.Actor) string {
	t.Helper()
	var ids []string
	for _, m := range members {
		ids = append(ids, m.UserID)
	}
	c, err := svc.CreateConversation(ctx, owner, chat.NewConversation{Type: "g", Name: "g", Participants: ids})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func send(t *testing.T, svc *chat.Service, a chat.Actor, cid, clientID, body string) *chat.Ask {
	t.Helper()
	ask, err := svc.SendMessage(ctx, a, chat.NewMessage{ClientID: clientID, CID: cid, Body: &body})
	if err != nil {
		t.Fatal(err)
	}
	return ask
}

// TestSinkCommitOrder: concurrent senders' commits reach the sink in commit
// order, numbers without a gap (SQLite has one writer), positions rising
// within each, every message exactly once, to the members, sparing the
// sending socket.
func TestSinkCommitOrder(t *testing.T) {
	svc, _, rec, as := newService(t, "ann", "bob", "cat")
	cid := group(t, svc, as["ann"], as["bob"], as["cat"])
	const senders, each = 6, 40
	asks := make(chan string, senders*each)
	var wg sync.WaitGroup
	for i := range senders {
		who := []string{"ann", "bob", "cat"}[i%3]
		wg.Go(func() {
			for n := range each {
				asks <- send(t, svc, as[who], cid, fmt.Sprintf("%d-%d", i, n), "x").ServerMID
			}
		})
	}
	wg.Wait()
	close(asks)
	seen := map[string]int{}
	var last int64
	var prevSeq int64
	for _, c := range rec.all() {
		if prevSeq != 0 && c.Seq != prevSeq+1 {
			t.Fatalf("commit %d after %d: the sink must see every number in order", c.Seq, prevSeq)
		}
		prevSeq = c.Seq
		for _, d := range c.Deliveries {
			if d.Pos <= last || chat.SeqOf(d.Pos) != c.Seq {
				t.Fatalf("position %d (commit %d) after %d", d.Pos, c.Seq, last)
			}
			last = d.Pos
			seen[d.EventID]++
			if len(d.UserIDs) != 3 {
				t.Fatalf("event %s to %v, want the 3 members", d.EventID, d.UserIDs)
			}
			if !strings.HasPrefix(d.Except, "sock-") {
				t.Fatalf("event %s spares %q, want the sending socket", d.EventID, d.Except)
			}
		}
	}
	n := 0
	for id := range asks {
		n++
		if seen[id] != 1 {
			t.Fatalf("message %s delivered %d times, want once", id, seen[id])
		}
	}
	if n != senders*each {
		t.Fatalf("%d asks, want %d", n, senders*each)
	}
}

// TestIdempotentSend: the same client id from the same sender in the same
// conversation stores one message and delivers it once; the repeat (one
// after the other, or at the same time from two tabs) gets the first ask.
// Another conversation or another sender may use the same client id.
func TestIdempotentSend(t *testing.T) {
	svc, db, rec, as := newService(t, "ann", "bob")
	cid := group(t, svc, as["ann"], as["bob"])
	other := group(t, svc, as["bob"], as["ann"])
	first := send(t, svc, as["ann"], cid, "retry-1", "hello")
	again := send(t, svc, as["ann"], cid, "retry-1", "hello (retried)")
	if again.ServerMID != first.ServerMID || again.T != first.T || again.MID != "retry-1" {
		t.Fatalf("repeat: got %+v, want the first ask %+v", again, first)
	}
	asks := make([]*chat.Ask, 8)
	var wg sync.WaitGroup
	for i := range asks {
		wg.Go(func() { asks[i] = send(t, svc, as["ann"], cid, "tabs", "from every tab") })
	}
	wg.Wait()
	for _, a := range asks[1:] {
		if a.ServerMID != asks[0].ServerMID {
			t.Fatalf("concurrent repeats: %s and %s", a.ServerMID, asks[0].ServerMID)
		}
	}
	if send(t, svc, as["bob"], cid, "retry-1", "bob's").ServerMID == first.ServerMID {
		t.Fatal("another sender's message with the same client id was taken for a repeat")
	}
	if send(t, svc, as["ann"], other, "retry-1", "elsewhere").ServerMID == first.ServerMID {
		t.Fatal("a message to another conversation with the same client id was taken for a repeat")
	}
	ms, err := db.ConversationMessages(ctx, cid, store.MessageQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, m := range ms {
		bodies = append(bodies, m.Body)
	}
	if want := []string{"bob's", "from every tab", "hello"}; !slices.Equal(bodies, want) {
		t.Fatalf("stored: got %q, want %q", bodies, want)
	}
	count := map[string]int{}
	for _, c := range rec.all() {
		for _, d := range c.Deliveries {
			count[d.EventID]++
		}
	}
	if count[first.ServerMID] != 1 || count[asks[0].ServerMID] != 1 {
		t.Fatalf("deliveries: first %d, tabs %d, want 1 each", count[first.ServerMID], count[asks[0].ServerMID])
	}
}

// logText is everything the log holds for a user, as catch-up and
// op_log_list hand it out.
func logText(t *testing.T, svc *chat.Service, a chat.Actor) string {
	t.Helper()
	evs, err := svc.Replay(ctx, a, 0, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range evs {
		b.Write(e.Frame)
		b.WriteByte('\n')
	}
	gt := time.Unix(0, 0)
	logs, err := svc.OpLog(ctx, a, &gt, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range logs {
		b.Write(l.Packet)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestDeletedAndEditedTextIsGone: after an edit the log holds the message
// with its new body and the last edit only; after a delete for everyone it
// holds no body of the message at all, for members old and new.
func TestDeletedAndEditedTextIsGone(t *testing.T) {
	svc, _, _, as := newService(t, "ann", "bob", "cat")
	cid := group(t, svc, as["ann"], as["bob"])
	edited := send(t, svc, as["ann"], cid, "e", "first draft")
	for _, body := range []string{"second draft", "final text"} {
		if err := svc.EditMessage(ctx, as["ann"], edited.ServerMID, body); err != nil {
			t.Fatal(err)
		}
	}
	gone := send(t, svc, as["ann"], cid, "d", "secret to delete")
	if err := svc.EditMessage(ctx, as["ann"], gone.ServerMID, "secret edited"); err != nil {
		t.Fatal(err)
	}
	if err := svc.DeleteMessages(ctx, as["ann"], cid, []string{gone.ServerMID}, "all"); err != nil {
		t.Fatal(err)
	}
	text := logText(t, svc, as["bob"])
	for _, old := range []string{"first draft", "second draft", "secret to delete", "secret edited"} {
		if strings.Contains(text, old) {
			t.Fatalf("the log still holds %q:\n%s", old, text)
		}
	}
	if strings.Count(text, "final text") != 4 { // the message and its last edit, each in catch-up and op_log_list
		t.Fatalf("want the rewritten message and the last edit in both reads:\n%s", text)
	}
	if !strings.Contains(text, `"message_delete"`) {
		t.Fatalf("the deletion is not in the log:\n%s", text)
	}
}

// TestLogBoundedByMembership: a member added later gets, in catch-up and
// op_log_list, only the conversation's events from the join on; after
// leaving, nothing of the conversation.
func TestLogBoundedByMembership(t *testing.T) {
	svc, _, rec, as := newService(t, "ann", "bob", "cat")
	cid := group(t, svc, as["ann"], as["bob"])
	send(t, svc, as["ann"], cid, "1", "before cat joined")
	if _, err := svc.UpdateConversation(ctx, as["ann"], chat.ConversationUpdate{ID: cid, AddParticipants: []string{as["cat"].UserID}}); err != nil {
		t.Fatal(err)
	}
	send(t, svc, as["ann"], cid, "2", "after cat joined")
	text := logText(t, svc, as["cat"])
	if strings.Contains(text, "before cat joined") || strings.Contains(text, "conversation_created") {
		t.Fatalf("cat sees events from before the join:\n%s", text)
	}
	if !strings.Contains(text, "after cat joined") || !strings.Contains(text, "has been added") {
		t.Fatalf("cat misses events from the join on:\n%s", text)
	}
	// The live delivery of the earlier message did not go to cat either.
	for _, c := range rec.all() {
		for _, d := range c.Deliveries {
			if strings.Contains(string(d.Frame), "before cat joined") && slices.Contains(d.UserIDs, as["cat"].UserID) {
				t.Fatal("the message from before the join was delivered to cat")
			}
		}
	}
	if err := svc.LeaveConversation(ctx, as["cat"], cid); err != nil {
		t.Fatal(err)
	}
	send(t, svc, as["ann"], cid, "3", "after cat left")
	if text := logText(t, svc, as["cat"]); strings.Contains(text, "after cat left") {
		t.Fatalf("cat sees events after leaving:\n%s", text)
	}
	var got struct {
		Message struct{ Body string } `json:"message"`
	}
	evs, err := svc.Replay(ctx, as["bob"], 0, 0, 100)
	if err != nil || len(evs) == 0 {
		t.Fatal(err)
	}
	if err := json.Unmarshal(evs[len(evs)-1].Frame, &got); err != nil || got.Message.Body != "after cat left" {
		t.Fatalf("bob's last event: %s", evs[len(evs)-1].Frame)
	}
}
