package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestChatAbuse attacks the chat limits of issue 10 through real sockets
// against a real samagate process (SQLite, one node, --max-participants
// 6): list arguments one past their bound, the owner leaving and an admin
// removing the owner, sockets racing to fill a group past its limit, and
// the cost of a conversation_list page of 5 and of 100 conversations.
func TestChatAbuse(t *testing.T) {
	srv := chatStart(t, "--max-participants", "6")
	users := map[string]string{}
	for _, u := range []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan"} {
		users[u] = srv.signUp(t, u)
	}
	t.Run("ListBounds", func(t *testing.T) { chatListBounds(t, srv, users) })
	t.Run("Ownership", func(t *testing.T) { chatOwnership(t, srv, users) })
	t.Run("RacingAdds", func(t *testing.T) { chatRacingAdds(t, srv, users) })
	t.Run("ListCost", func(t *testing.T) { chatListCost(t, srv, users) })
}

// chatListBounds: each list argument one past its bound gets SAMA's 422
// naming the field, and the socket stays usable.
func chatListBounds(t *testing.T, srv *chatServer, users map[string]string) {
	alice := srv.connect(t, "alice")
	g := alice.create(t, "bounds", users["bob"])
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%024x", i+1)
		}
		return out
	}
	cases := []struct {
		method, field, want string
		params              map[string]any
	}{
		{"get_participants_by_cids", "cids", "'cids' max length 100", map[string]any{"cids": many(101)}},
		{"conversation_list", "ids", "'ids' max length 10", map[string]any{"ids": many(11)}},
		{"message_list", "ids", "'ids' max length 100", map[string]any{"cid": g, "ids": many(101)}},
		{"message_delete", "ids", "'ids' max length 100", map[string]any{"cid": g, "ids": many(101), "type": "all"}},
		{"system_message", "uids", "'uids' max length 20", map[string]any{"id": "sm", "uids": many(21), "x": map[string]any{}}},
		{"conversation_create", "participants", "There are too many users in the group conversation.",
			map[string]any{"type": "g", "name": "big", "participants": many(7)}},
	}
	for _, l := range []struct{ key, op string }{{"participants", "add"}, {"participants", "remove"}, {"admins", "add"}, {"admins", "remove"}} {
		field := l.key + "." + l.op
		cases = append(cases, struct {
			method, field, want string
			params              map[string]any
		}{"conversation_update", field, fmt.Sprintf("'%s' max length 6", field),
			map[string]any{"id": g, l.key: map[string]any{l.op: many(7)}}})
	}
	for _, tc := range cases {
		r := alice.call(t, tc.method, tc.params)
		e, _ := r["error"].(map[string]any)
		fields, _ := e["errors"].(map[string]any)
		if e == nil || e["status"] != float64(422) || e["message"] != tc.want || fields[tc.field] == nil {
			t.Fatalf("%s with %s one past the bound: got %v, want 422 %q naming %s", tc.method, tc.field, r, tc.want, tc.field)
		}
	}
	if r := alice.call(t, "ping", map[string]any{}); r["pong"] == nil {
		t.Fatalf("ping after the refused lists: got %v", r)
	}
	t.Logf("list bounds: %d list arguments one past their bound answered 422 naming the field; the socket stays open", len(cases))
}

// chatOwnership: an admin cannot remove the owner; when the owner leaves,
// the admin owns the group; when that owner leaves, the longest member
// does, and manages it.
func chatOwnership(t *testing.T, srv *chatServer, users map[string]string) {
	alice, bob, carol, dave := srv.connect(t, "alice"), srv.connect(t, "bob"), srv.connect(t, "carol"), srv.connect(t, "dave")
	g := alice.create(t, "owned", users["bob"], users["carol"], users["dave"])
	chatOK(t, alice.call(t, "conversation_update", map[string]any{"id": g, "admins": map[string]any{"add": []string{users["dave"]}}}))
	r := dave.call(t, "conversation_update", map[string]any{"id": g, "participants": map[string]any{"remove": []string{users["alice"]}}})
	if e, _ := r["error"].(map[string]any); e == nil || e["status"] != float64(403) {
		t.Fatalf("admin removes the owner: got %v, want 403", r)
	}
	chatOK(t, alice.call(t, "conversation_delete", map[string]any{"id": g}))
	if got := bob.owner(t, g); got != users["dave"] {
		t.Fatalf("owner after the owner left: got %s, want the admin dave %s", got, users["dave"])
	}
	chatOK(t, dave.call(t, "conversation_delete", map[string]any{"id": g}))
	heir, other := bob, carol
	if users["carol"] < users["bob"] {
		heir, other = carol, bob
	}
	if got := other.owner(t, g); got != users[heir.login] {
		t.Fatalf("owner after the second owner left: got %s, want the longest member %s", got, heir.login)
	}
	chatOK(t, heir.call(t, "conversation_update", map[string]any{"id": g, "name": "still managed"}))
	if r := other.call(t, "conversation_update", map[string]any{"id": g, "name": "hijack"}); r["error"] == nil {
		t.Fatalf("a plain member renames: got %v, want 403", r)
	}
	t.Logf("ownership: admin removing the owner 403; owner left -> admin owns; admin owner left -> %s (longest member) owns and renames", heir.login)
}

// chatRacingAdds: three sockets of three managers add two members each to
// a group of three at once; with --max-participants 6 only one add fits.
func chatRacingAdds(t *testing.T, srv *chatServer, users map[string]string) {
	managers := []*chatClient{srv.connect(t, "alice"), srv.connect(t, "bob"), srv.connect(t, "carol")}
	g := managers[0].create(t, "racing", users["bob"], users["carol"])
	chatOK(t, managers[0].call(t, "conversation_update", map[string]any{"id": g,
		"admins": map[string]any{"add": []string{users["bob"], users["carol"]}}}))
	adds := [][]string{{users["dave"], users["erin"]}, {users["frank"], users["grace"]}, {users["heidi"], users["ivan"]}}
	replies := make([]map[string]any, len(managers))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range managers {
		wg.Go(func() {
			<-start
			replies[i] = m.call(t, "conversation_update", map[string]any{"id": g, "participants": map[string]any{"add": adds[i]}})
		})
	}
	close(start)
	wg.Wait()
	added, refused := 0, 0
	for _, r := range replies {
		switch e, _ := r["error"].(map[string]any); {
		case e == nil:
			added++
		case e["status"] == float64(422) && e["message"] == "You've reached the maximum participant limit.":
			refused++
		default:
			t.Fatalf("racing add: got %v", r)
		}
	}
	members := len(managers[0].members(t, g))
	t.Logf("racing adds: 3 sockets adding 2 members each at once to a group of 3 with --max-participants 6: %d added, %d refused 422, %d members",
		added, refused, members)
	if added != 1 || refused != 2 || members != 5 {
		t.Fatalf("racing adds: %d added, %d refused, %d members, want 1, 2 and 5", added, refused, members)
	}
}

// chatListCost: conversation_list answers a page of 100 conversations,
// each with its last message and unread count, about as fast as a page of
// 5 (a fixed number of queries per page); the times are logged.
func chatListCost(t *testing.T, srv *chatServer, users map[string]string) {
	erin, frank := srv.connect(t, "erin"), srv.connect(t, "frank")
	var cids []string
	for i := range 100 {
		cids = append(cids, erin.create(t, fmt.Sprint("cost ", i), users["frank"]))
	}
	for i, cid := range cids {
		r := frank.call(t, "message", map[string]any{"id": fmt.Sprint("m", i), "cid": cid, "body": fmt.Sprint("hello ", i)})
		if r["mid"] == nil {
			t.Fatalf("message %d: got %v", i, r)
		}
	}
	timed := func(limit int) (time.Duration, []any) {
		var times []time.Duration
		var convs []any
		for range 5 {
			begin := time.Now()
			r := erin.call(t, "conversation_list", map[string]any{"limit": limit})
			times = append(times, time.Since(begin))
			convs, _ = r["conversations"].([]any)
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times[len(times)/2], convs
	}
	few, fiveConvs := timed(5)
	many, allConvs := timed(100)
	if len(fiveConvs) != 5 || len(allConvs) != 100 {
		t.Fatalf("conversation_list: got %d and %d conversations, want 5 and 100", len(fiveConvs), len(allConvs))
	}
	for _, c := range allConvs {
		cv := c.(map[string]any)
		last, _ := cv["last_message"].(map[string]any)
		i := slices.Index(cids, cv["_id"].(string))
		if last == nil || last["body"] != fmt.Sprint("hello ", i) || cv["unread_messages_count"] != float64(1) {
			t.Fatalf("conversation %d: got %v, want the last message %q and 1 unread", i, cv, fmt.Sprint("hello ", i))
		}
	}
	t.Logf("conversation_list over a real socket (median of 5): 5 conversations in %v, 100 in %v", few.Round(10*time.Microsecond), many.Round(10*time.Microsecond))
}

// chatServer is the samagate process under test.
type chatServer struct {
	http, ws string
}

// chatStart runs samagate on a free loopback port with SQLite in a temp
// dir and extra flags.
func chatStart(t *testing.T, flags ...string) *chatServer {
	t.Helper()
	dir := t.TempDir()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	p := startProc(t, dir, "samagate", samagateBinary(t),
		append([]string{"--addr", addr, "--data-dir", dir, "--insecure-cookie", "--log-format", "json"}, flags...)...)
	waitHTTP(t, p, "http://"+addr+"/health")
	return &chatServer{http: "http://" + addr, ws: "ws://" + addr + "/"}
}

// signUp creates a user whose password login() knows and returns its id.
func (s *chatServer) signUp(t *testing.T, login string) string {
	t.Helper()
	r := wsCall(t, s.ws, fmt.Sprintf(`{"request":{"user_create":{"login":%q,"password":"password-%s"},"id":"su"}}`, login, login))
	user, ok := r["response"].(map[string]any)["user"].(map[string]any)
	if !ok {
		t.Fatalf("user_create %s: %v", login, r)
	}
	return user["_id"].(string)
}

// chatClient is one connected socket of a user.
type chatClient struct {
	login string
	c     *websocket.Conn
	mu    sync.Mutex // one call at a time
	n     int
}

// connect logs the user in over HTTP and connects a socket with the token.
func (s *chatServer) connect(t *testing.T, user string) *chatClient {
	t.Helper()
	device := "abuse-" + user
	tok := login(t, s.http, user, device)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(8 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	cl := &chatClient{login: user, c: c}
	chatOK(t, cl.call(t, "connect", map[string]any{"token": tok, "device_id": device}))
	return cl
}

// call sends one request and returns its response (or ask) object,
// skipping the events that come in between; a 429 is waited out and the
// request sent again.
func (c *chatClient) call(t *testing.T, method string, params map[string]any) map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for attempt := 0; attempt < 100; attempt++ {
		c.n++
		id := fmt.Sprint("r", c.n)
		frame, _ := json.Marshal(map[string]any{"request": map[string]any{method: params, "id": id}})
		if method == "message" {
			frame, _ = json.Marshal(map[string]any{"message": params})
		}
		r := c.roundTrip(t, frame, id, params["id"])
		if e, _ := r["error"].(map[string]any); e != nil && e["status"] == float64(429) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return r
	}
	t.Fatalf("%s %s: still rate limited after 100 tries", c.login, method)
	return nil
}

// roundTrip writes frame and reads until the reply to id (or the ask of the
// message whose client id is mid).
func (c *chatClient) roundTrip(t *testing.T, frame []byte, id string, mid any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, frame); err != nil {
		t.Fatalf("%s: write: %v", c.login, err)
	}
	for {
		_, data, err := c.c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: read the reply to %s: %v", c.login, frame, err)
		}
		var f map[string]map[string]any
		if json.Unmarshal(data, &f) != nil {
			continue
		}
		if r := f["response"]; r != nil && r["id"] == id {
			return r
		}
		if a := f["ask"]; a != nil && mid != nil && a["mid"] == mid {
			return a
		}
		if m := f["message"]; m != nil && mid != nil && m["id"] == mid && m["error"] != nil { // a refused message
			return m
		}
	}
}

// create makes a group of the caller and members, returning its id.
func (c *chatClient) create(t *testing.T, name string, members ...string) string {
	t.Helper()
	r := c.call(t, "conversation_create", map[string]any{"type": "g", "name": name, "participants": members})
	conv, _ := r["conversation"].(map[string]any)
	if conv == nil {
		t.Fatalf("conversation_create %s: %v", name, r)
	}
	return conv["_id"].(string)
}

// owner reads a conversation's owner_id from the caller's list.
func (c *chatClient) owner(t *testing.T, cid string) string {
	t.Helper()
	r := c.call(t, "conversation_list", map[string]any{"ids": []string{cid}})
	convs, _ := r["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversation_list %s: %v", cid, r)
	}
	return convs[0].(map[string]any)["owner_id"].(string)
}

// members lists a conversation's member ids.
func (c *chatClient) members(t *testing.T, cid string) []any {
	t.Helper()
	r := c.call(t, "get_participants_by_cids", map[string]any{"cids": []string{cid}})
	convs, _ := r["conversations"].(map[string]any)
	ids, _ := convs[cid].([]any)
	return ids
}

// chatOK fails t unless r is a success.
func chatOK(t *testing.T, r map[string]any) {
	t.Helper()
	if r["error"] != nil {
		t.Fatalf("got %v, want success", r)
	}
}
