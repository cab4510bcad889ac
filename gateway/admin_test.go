package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/httpauth"
)

// adminKey is the admin API key of the nodes these tests start.
const adminKey = "test-admin-key"

func withAdminKey(c *app.Config) { c.HTTP.AdminAPIKey = adminKey }

// adminCall sends one admin request with key ("" = no header) and returns
// the status and the body.
func (n *node) adminCall(t testing.TB, method, path, key, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, n.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("admin-api-key", key)
	}
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytes.TrimSpace(b))
}

// admin sends an admin request with the right key and matches the reply's
// status and JSON body against a pattern (see match); it returns the body.
func (n *node) admin(t testing.TB, method, path, body string, status int, pattern string) map[string]any {
	t.Helper()
	got, text := n.adminCall(t, method, path, adminKey, body)
	if got != status {
		t.Fatalf("%s %s %s: got %d %s, want %d", method, path, body, got, text, status)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		t.Fatalf("%s %s: reply is not a JSON object: %q", method, path, text)
	}
	var want any
	if err := json.Unmarshal([]byte(pattern), &want); err != nil {
		t.Fatalf("bad pattern %s: %v", pattern, err)
	}
	if err := match("$", m, want); err != nil {
		t.Fatalf("%s %s: %v\n got: %s\nwant: %s", method, path, err, text, pattern)
	}
	return m
}

// adminError expects an error reply: status and SAMA's text body.
func (n *node) adminError(t testing.TB, method, path, key, body string, status int, text string) {
	t.Helper()
	got, gotText := n.adminCall(t, method, path, key, body)
	if got != status || gotText != text {
		t.Fatalf("%s %s %.80s: got %d %q, want %d %q", method, path, body, got, gotText, status, text)
	}
}

// adminRoutes are the admin API's routes beyond /admin/organization.
var adminRoutes = []struct{ method, path string }{
	{http.MethodGet, "/admin/server-stats"},
	{http.MethodPost, "/admin/message"},
	{http.MethodPut, "/admin/message"},
	{http.MethodDelete, "/admin/message"},
	{http.MethodPost, "/admin/message/system"},
	{http.MethodPut, "/admin/message/read"},
	{http.MethodPost, "/admin/activity/online"},
}

// TestAdminUnauthorized: every admin route is 401 Unauthorized. without
// the key, with a wrong one, and on a node with no key configured; an
// unknown admin route or method is 404 Route not found with the key.
func TestAdminUnauthorized(t *testing.T) {
	n := startNode(t, withAdminKey)
	closed := startNode(t, nil)
	for _, r := range adminRoutes {
		n.adminError(t, r.method, r.path, "", `{}`, 401, "Unauthorized.")
		n.adminError(t, r.method, r.path, adminKey+"x", `{}`, 401, "Unauthorized.")
		n.adminError(t, r.method, r.path, strings.ToUpper(adminKey), `{}`, 401, "Unauthorized.")
		closed.adminError(t, r.method, r.path, adminKey, `{}`, 401, "Unauthorized.")
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodGet, "/admin/message"}, {http.MethodPost, "/admin/server-stats"}, {http.MethodGet, "/admin/activity/online"},
		{http.MethodPost, "/admin/messages"}, {http.MethodPost, "/admin/message/reaction"}, {http.MethodPost, "/admin/"},
	} {
		n.adminError(t, r.method, r.path, adminKey, `{}`, 404, "Route not found")
		n.adminError(t, r.method, r.path, "", `{}`, 401, "Unauthorized.") // the key first: no route is revealed
	}
}

// adminChat is a private chat of alice (one socket) and bob (two devices)
// plus carol, who has an account and no socket; the chat's creation has
// reached every socket.
type adminChat struct {
	alice, bob, carol account
	a, b1, b2         *client
	cid               string
}

func newAdminChat(t *testing.T, n *node) *adminChat {
	t.Helper()
	c := &adminChat{alice: n.signUp(t, "alice"), bob: n.signUp(t, "bob"), carol: n.signUp(t, "carol")}
	c.a = n.connected(t, c.alice, "web")
	c.b1, c.b2 = n.connected(t, c.bob, "phone"), n.connected(t, c.bob, "laptop")
	got := c.a.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc"}}`, c.bob.id),
		`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
	c.cid = str(t, got, "response.conversation._id")
	c.b1.expect(`{"system_message":{"...":true}}`)
	c.b2.expect(`{"system_message":{"...":true}}`)
	return c
}

func (c *adminChat) all() []*client { return []*client{c.a, c.b1, c.b2} }

// TestAdminMessages: send, edit, read, system message (to a conversation
// and to users) and delete through the admin API reach every socket of
// every member, the sender's included, as the same socket requests do; the
// pseudo-sender never appears online.
func TestAdminMessages(t *testing.T) {
	n := startNode(t, withAdminKey)
	c := newAdminChat(t, n)

	got := n.admin(t, http.MethodPost, "/admin/message",
		fmt.Sprintf(`{"organizationId":"default","senderId":%q,"message":{"id":"m1","cid":%q,"body":"from the backend","x":{"k":1}}}`, c.alice.id, c.cid),
		201, `{"ask":{"mid":"m1","server_mid":"<string>","t":"<number>","modified":null,"bot_message":null}}`)
	mid := str(t, got, "ask.server_mid")
	msg := fmt.Sprintf(`{"message":{"...":true,"_id":%q,"cid":%q,"from":%q,"body":"from the backend","x":{"k":1}}}`, mid, c.cid, c.alice.id)
	for _, cl := range c.all() {
		cl.expect(msg)
	}
	settle(t, c.all()...)
	// The same id again is the same message (a backend's retry), told once.
	n.admin(t, http.MethodPost, "/admin/message",
		fmt.Sprintf(`{"senderId":%q,"message":{"id":"m1","cid":%q,"body":"from the backend"}}`, c.alice.id, c.cid),
		201, fmt.Sprintf(`{"ask":{"mid":"m1","server_mid":%q,"t":"<number>","modified":null,"bot_message":null}}`, mid))
	settle(t, c.all()...)
	c.b1.roundTrip(fmt.Sprintf(`{"request":{"message_list":{"cid":%q},"id":"ml"}}`, c.cid),
		fmt.Sprintf(`{"response":{"id":"ml","messages":[{"...":true,"_id":%q,"body":"from the backend"}]}}`, mid))

	n.admin(t, http.MethodPut, "/admin/message",
		fmt.Sprintf(`{"senderId":%q,"messageEdit":{"id":%q,"body":"edited"}}`, c.alice.id, mid), 200, `{"success":true}`)
	edit := fmt.Sprintf(`{"message_edit":{"...":true,"id":%q,"cid":%q,"from":%q,"body":"edited"}}`, mid, c.cid, c.alice.id)
	for _, cl := range c.all() {
		cl.expect(edit)
	}

	n.admin(t, http.MethodPut, "/admin/message/read",
		fmt.Sprintf(`{"senderId":%q,"messageRead":{"cid":%q,"ids":[%q]}}`, c.bob.id, c.cid, mid), 200, `{"success":true}`)
	c.a.expect(fmt.Sprintf(`{"message_read":{"...":true,"ids":[%q],"cid":%q,"from":%q}}`, mid, c.cid, c.bob.id))
	settle(t, c.all()...)

	n.admin(t, http.MethodPost, "/admin/message/system",
		fmt.Sprintf(`{"senderId":%q,"messageSystem":{"id":"s1","cid":%q,"x":{"order":"shipped"}}}`, c.bob.id, c.cid),
		201, `{"ask":{"mid":"s1","t":"<number>"}}`)
	sys := fmt.Sprintf(`{"system_message":{"...":true,"_id":"s1","cid":%q,"from":%q,"x":{"order":"shipped"}}}`, c.cid, c.bob.id)
	for _, cl := range c.all() {
		cl.expect(sys)
	}
	// To users: carol has no socket, so only alice's gets it.
	n.admin(t, http.MethodPost, "/admin/message/system",
		fmt.Sprintf(`{"senderId":%q,"messageSystem":{"id":"s2","uids":[%q],"x":{"ping":true}}}`, c.carol.id, c.alice.id),
		201, `{"ask":{"mid":"s2","t":"<number>"}}`)
	c.a.expect(fmt.Sprintf(`{"system_message":{"...":true,"_id":"s2","from":%q,"x":{"ping":true}}}`, c.carol.id))
	settle(t, c.all()...)

	// bob may not delete alice's message in a private chat; alice may.
	n.adminError(t, http.MethodDelete, "/admin/message", adminKey,
		fmt.Sprintf(`{"senderId":%q,"messageDelete":{"cid":%q,"ids":[%q],"type":"all"}}`, c.bob.id, c.cid, mid), 403, "Forbidden.")
	n.admin(t, http.MethodDelete, "/admin/message",
		fmt.Sprintf(`{"senderId":%q,"messageDelete":{"cid":%q,"ids":[%q],"type":"all"}}`, c.alice.id, c.cid, mid), 200, `{"success":true}`)
	del := fmt.Sprintf(`{"message_delete":{"...":true,"ids":[%q],"cid":%q,"from":%q,"type":"all"}}`, mid, c.cid, c.alice.id)
	for _, cl := range c.all() {
		cl.expect(del)
	}
	settle(t, c.all()...)

	// Nobody acting through the admin API appeared online: carol never
	// connected, and alice and bob only through their sockets.
	want := []string{c.alice.id, c.bob.id}
	if c.bob.id < c.alice.id {
		want = []string{c.bob.id, c.alice.id}
	}
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"idsOnly":true,"limit":100}`, 200,
		fmt.Sprintf(`{"users":[%q,%q]}`, want[0], want[1]))
	c.a.roundTrip(`{"request":{"online_list":{"count":true},"id":"ol"}}`, `{"response":{"id":"ol","count":2}}`)
}

// TestAdminBadInput: malformed, missing, mistyped and oversized bodies get
// a clear 400, 413 or 422 (the field named), and the chat rules apply to
// the sender.
func TestAdminBadInput(t *testing.T) {
	n := startNode(t, withAdminKey)
	c := newAdminChat(t, n)
	send := func(body string) string {
		return fmt.Sprintf(`{"senderId":%q,"message":%s}`, c.alice.id, body)
	}
	for _, r := range adminRoutes[1:] { // the routes that read a body
		n.adminError(t, r.method, r.path, adminKey, `{"senderId":`, 400, "Bad request - invalid data format")
		n.adminError(t, r.method, r.path, adminKey, `[1,2]`, 400, "Bad request - invalid data format")
		n.adminError(t, r.method, r.path, adminKey, `"text"`, 400, "Bad request - invalid data format")
		n.adminError(t, r.method, r.path, adminKey, `{"organizationId":{}}`, 422, "'organizationId' has an incorrect type.")
		n.adminError(t, r.method, r.path, adminKey, `{"senderId":"a",`+strings.Repeat(" ", httpauth.AdminMaxBodyBytes)+`}`, 413, "Request too large.")
	}
	for _, r := range []struct{ method, path, field string }{
		{http.MethodPost, "/admin/message", "message"},
		{http.MethodPut, "/admin/message", "messageEdit"},
		{http.MethodDelete, "/admin/message", "messageDelete"},
		{http.MethodPost, "/admin/message/system", "messageSystem"},
		{http.MethodPut, "/admin/message/read", "messageRead"},
	} {
		n.adminError(t, r.method, r.path, adminKey, "", 422, fmt.Sprintf("'%s' field is required.", r.field))
		n.adminError(t, r.method, r.path, adminKey, fmt.Sprintf(`{"senderId":%q}`, c.alice.id), 422, fmt.Sprintf("'%s' field is required.", r.field))
		n.adminError(t, r.method, r.path, adminKey, fmt.Sprintf(`{"%s":{"id":"x","cid":%q}}`, r.field, c.cid), 422, "'senderId' field is required.")
		n.adminError(t, r.method, r.path, adminKey, fmt.Sprintf(`{"senderId":"nobody","%s":{"id":"x","cid":%q}}`, r.field, c.cid),
			422, "'senderId' is not a user of the organization.")
		n.adminError(t, r.method, r.path, adminKey, fmt.Sprintf(`{"organizationId":"elsewhere","senderId":%q,"%s":{"id":"x","cid":%q}}`, c.alice.id, r.field, c.cid),
			422, "'senderId' is not a user of the organization.")
	}
	n.adminError(t, http.MethodPost, "/admin/message", adminKey, send(`{"id":"x","cid":{}}`), 422, "'message.cid' has an incorrect type.")
	n.adminError(t, http.MethodPost, "/admin/message", adminKey, send(`{"id":7,"cid":"`+c.cid+`","body":"b"}`), 422, "Incorrect message ID.")
	n.adminError(t, http.MethodPost, "/admin/message", adminKey, send(`{"id":"x","body":"b"}`), 422, "'cid' field is required.")
	n.adminError(t, http.MethodPost, "/admin/message", adminKey, send(`{"id":"x","cid":"`+c.cid+`"}`), 422, "Either message body or attachments required.")
	n.adminError(t, http.MethodPost, "/admin/message", adminKey, send(`{"id":"x","cid":"nope","body":"b"}`), 404, "Conversation not found.")
	n.adminError(t, http.MethodPost, "/admin/message", adminKey, send(`{"id":"x","cid":"`+c.cid+`","body":"`+strings.Repeat("b", 65537)+`"}`),
		422, "'body' max length 65536")
	// A body of the largest length fits the admin API's body limit.
	n.admin(t, http.MethodPost, "/admin/message", send(`{"id":"big","cid":"`+c.cid+`","body":"`+strings.Repeat("\\u0001", 65536)+`"}`),
		201, `{"ask":{"...":true,"mid":"big"}}`)
	// carol is no member of alice and bob's chat.
	n.adminError(t, http.MethodPost, "/admin/message", adminKey,
		fmt.Sprintf(`{"senderId":%q,"message":{"id":"x","cid":%q,"body":"b"}}`, c.carol.id, c.cid), 403, "Forbidden.")
	n.adminError(t, http.MethodPut, "/admin/message/read", adminKey,
		fmt.Sprintf(`{"senderId":%q,"messageRead":{"cid":%q}}`, c.carol.id, c.cid), 403, "Forbidden.")
	n.adminError(t, http.MethodPut, "/admin/message", adminKey,
		fmt.Sprintf(`{"senderId":%q,"messageEdit":{"id":"nope","body":"b"}}`, c.alice.id), 422, "Message ID not found.")
	n.adminError(t, http.MethodDelete, "/admin/message", adminKey,
		fmt.Sprintf(`{"senderId":%q,"messageDelete":{"cid":%q,"ids":["x"]}}`, c.alice.id, c.cid), 422, "Message type missed.")
	n.adminError(t, http.MethodPost, "/admin/message/system", adminKey,
		fmt.Sprintf(`{"senderId":%q,"messageSystem":{"id":"s","x":{}}}`, c.alice.id), 422, "'cid' or 'uids' field is required.")
	n.adminError(t, http.MethodPost, "/admin/message/system", adminKey,
		fmt.Sprintf(`{"senderId":%q,"messageSystem":{"id":"s","cid":%q}}`, c.alice.id, c.cid), 422, "'x' field is required.")
	n.adminError(t, http.MethodPost, "/admin/activity/online", adminKey, `{"limit":101}`, 422, "'limit' must be between 1 and 100")
	n.adminError(t, http.MethodPost, "/admin/activity/online", adminKey, `{"offset":-1}`, 422, "'offset' must be 0 or more")
	n.adminError(t, http.MethodPost, "/admin/activity/online", adminKey, `{"count":"yes"}`, 422, "'count' has an incorrect type.")

	// Accept: application/json gets the wire error with the field named.
	req, _ := http.NewRequest(http.MethodPost, n.base+"/admin/message", strings.NewReader(send(`{"id":"x","cid":{}}`)))
	req.Header.Set("admin-api-key", adminKey)
	req.Header.Set("Accept", "application/json")
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 422 || !strings.Contains(string(b), `"errors":{"message.cid"`) {
		t.Fatalf("JSON error: got %d %s", resp.StatusCode, b)
	}
	// Nothing of the above was delivered, except the one big message.
	for _, cl := range c.all() {
		cl.expect(`{"message":{"...":true}}`)
	}
	settle(t, c.all()...)
}

// TestAdminOnline: POST /admin/activity/online counts and pages the
// organization's online users (SAMA's count, idsOnly, limit, offset) with
// public user objects only; organizationId defaults to the default one.
func TestAdminOnline(t *testing.T) {
	n := startNode(t, withAdminKey)
	n.admin(t, http.MethodPost, "/admin/activity/online", ``, 200, `{"users":[]}`)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	n.connected(t, a, "web")
	n.connected(t, b, "web")
	n.connected(t, b, "phone")
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"count":true}`, 200, `{"count":2}`)
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"organizationId":"default","userId":"whoever","count":true}`, 200, `{"count":2}`)
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"organizationId":"elsewhere","count":true}`, 200, `{"count":0}`)
	first, second := a.id, b.id
	if second < first {
		first, second = second, first
	}
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"idsOnly":true,"limit":1}`, 200, fmt.Sprintf(`{"users":[%q]}`, first))
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"idsOnly":true,"offset":1}`, 200, fmt.Sprintf(`{"users":[%q]}`, second))
	n.admin(t, http.MethodPost, "/admin/activity/online", `{"idsOnly":true,"offset":9223372036854775807}`, 200, `{"users":[]}`)
	got := n.admin(t, http.MethodPost, "/admin/activity/online", `{}`, 200, `{"users":[{"...":true,"_id":"<string>","login":"<string>"},{"...":true,"_id":"<string>"}]}`)
	for _, u := range got["users"].([]any) {
		for _, secret := range []string{"password_hash", "encrypted_password", "password_salt", "organization_id", "device_id"} {
			if _, ok := u.(map[string]any)[secret]; ok {
				t.Fatalf("online user has %q: %v", secret, u)
			}
		}
	}
}

// TestAdminServerStats: GET /admin/server-stats reports this node: uptime
// (seconds, or text with format), its dependencies answering, its users
// and sockets, and message rates.
func TestAdminServerStats(t *testing.T) {
	n := startNode(t, withAdminKey)
	got := n.admin(t, http.MethodGet, "/admin/server-stats", "", 200, `{"hostname":"<string>","status":"ok","uptime":"<number>","uptime_seconds":"<number>",
		"dependencies":"<any>","online_users":0,"connections":0,"messages_per_minute":0,"messages_per_hour":0,"messages_per_day":0}`)
	want := []any{map[string]any{"name": "sqlite", "status": "ok"}}
	if os.Getenv(clusterEnv) == "1" {
		want = []any{map[string]any{"name": "postgres", "status": "ok"}, map[string]any{"name": "redis", "status": "ok"}}
	}
	if err := match("dependencies", got["dependencies"], want); err != nil {
		t.Fatal(err)
	}
	a := n.signUp(t, "alice")
	n.connected(t, a, "web")
	n.connected(t, a, "phone")
	waitFor(t, "the sign-up socket closed", func() bool { return n.app.Online() == 2 })
	n.admin(t, http.MethodGet, "/admin/server-stats?format=1", "", 200, `{"...":true,"status":"ok","uptime":"<string>","online_users":1,"connections":2}`)
}

// TestAdminCrossNode: two nodes share PostgreSQL and Redis. A message sent
// through node 1's admin API reaches both of bob's devices on node 2 and
// alice's socket on node 1, and bob's third device, offline meanwhile,
// catches it up when it reconnects.
func TestAdminCrossNode(t *testing.T) {
	ns := startCluster(t, 2, withAdminKey)
	n1, n2 := ns[0], ns[1]
	alice, bob := n1.signUp(t, "alice"), n2.signUp(t, "bob")
	a := n1.connected(t, alice, "web")
	b1, b2 := n2.connected(t, bob, "phone"), n2.connected(t, bob, "laptop")
	tabTok, _ := n2.token(t, bob, "tablet")
	tab := n2.connectWith(t, tabTok, "tablet")
	got := a.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc"}}`, bob.id),
		`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	b1.expect(`{"system_message":{"...":true}}`)
	b2.expect(`{"system_message":{"...":true}}`)
	since := str(t, tab.expect(`{"system_message":{"...":true}}`), "system_message.eid")
	_ = tab.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "bob's tablet gone", func() bool { return n2.app.Online() == 2 })

	got = n1.admin(t, http.MethodPost, "/admin/message",
		fmt.Sprintf(`{"senderId":%q,"message":{"id":"x1","cid":%q,"body":"across nodes"}}`, alice.id, cid),
		201, `{"ask":{"...":true,"mid":"x1","server_mid":"<string>"}}`)
	msg := fmt.Sprintf(`{"message":{"...":true,"_id":%q,"from":%q,"body":"across nodes"}}`, str(t, got, "ask.server_mid"), alice.id)
	for _, cl := range []*client{a, b1, b2} {
		cl.expect(msg)
	}
	n2.admin(t, http.MethodPost, "/admin/message/system",
		fmt.Sprintf(`{"senderId":%q,"messageSystem":{"id":"s1","cid":%q,"x":{"k":"v"}}}`, bob.id, cid), 201, `{"ask":{"mid":"s1","t":"<number>"}}`)
	sys := fmt.Sprintf(`{"system_message":{"...":true,"_id":"s1","from":%q}}`, bob.id)
	for _, cl := range []*client{a, b1, b2} {
		cl.expect(sys)
	}
	settle(t, a, b1, b2)

	tab = n2.dial(t)
	tab.roundTrip(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"tablet","since":%q},"id":"cn"}}`, tabTok, since),
		`{"response":{"id":"cn","success":true}}`)
	tab.expect(msg)
	tab.expect(sys)
	tab.expect(`{"catch_up":{"...":true}}`)
	tab.quiet("end")
	// The admin's calls left no device online on either node.
	n1.admin(t, http.MethodPost, "/admin/activity/online", `{"count":true}`, 200, `{"count":2}`)
	n2.admin(t, http.MethodPost, "/admin/activity/online", `{"count":true}`, 200, `{"count":2}`)
}
