package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/internal/testenv"
)

// settle checks that no socket in cs got anything more: events from other
// nodes arrive asynchronously, so it gives them a moment, then each socket's
// next frame must be the answer to a ping. (A read with a timeout would
// close the socket, so the ping is the probe.)
func settle(t *testing.T, cs ...*client) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	for i, c := range cs {
		c.quiet(fmt.Sprintf("settle-%d", i))
	}
}

// TestClusterDelivery: three nodes sharing PostgreSQL and Redis; users'
// devices spread over them. Every event reaches every socket it should
// exactly once, on whichever node; presence, online_list and last_activity
// agree everywhere; logout closes the session's sockets on other nodes.
func TestClusterDelivery(t *testing.T) {
	t.Run("Redis", func(t *testing.T) { testClusterDelivery(t, nil) })
	t.Run("RedisCluster", func(t *testing.T) {
		url := testenv.Lookup(t, testenv.RedisClusterEnv)
		testClusterDelivery(t, func(c *app.Config) { c.RedisURL = url })
	})
}

func testClusterDelivery(t *testing.T, tweak func(*app.Config)) {
	ns := startCluster(t, 3, tweak)
	n1, n2, n3 := ns[0], ns[1], ns[2]
	a, b, c := n1.signUp(t, "alice"), n2.signUp(t, "bob"), n3.signUp(t, "carol")

	aTok, _ := n1.token(t, a, "web")
	a1 := n1.connectWith(t, aTok, "web")  // alice's browser on node 1...
	a1b := n3.connectWith(t, aTok, "web") // ...a second tab of it on node 3
	a2 := n2.connected(t, a, "phone")
	b2 := n2.connected(t, b, "phone")
	b3 := n3.connected(t, b, "web")
	c3 := n3.connected(t, c, "web")
	all := []*client{a1, a1b, a2, b2, b3, c3}

	// carol follows alice from node 3.
	c3.roundTrip(fmt.Sprintf(`{"request":{"user_last_activity_subscribe":{"id":%q},"id":"sub"}}`, a.id),
		fmt.Sprintf(`{"response":{"id":"sub","last_activity":{%q:0}}}`, a.id))

	got := a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"trio","participants":[%q,%q]},"id":"cc"}}`, b.id, c.id),
		`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	created := fmt.Sprintf(`{"system_message":{"...":true,"cid":%q,"x":{"conversation_created":{"...":true,"_id":%q}}}}`, cid, cid)
	for _, cl := range all[1:] {
		cl.expect(created)
	}
	settle(t, all...)

	got = a1.roundTrip(fmt.Sprintf(`{"message":{"id":"m1","cid":%q,"body":"hi all"}}`, cid),
		`{"ask":{"mid":"m1","server_mid":"<string>","t":"<number>","modified":null,"bot_message":null}}`)
	mid := str(t, got, "ask.server_mid")
	msg := fmt.Sprintf(`{"message":{"...":true,"_id":%q,"cid":%q,"from":%q,"body":"hi all"}}`, mid, cid, a.id)
	for _, cl := range all[1:] {
		cl.expect(msg)
	}
	settle(t, all...)

	b3.send(fmt.Sprintf(`{"typing":{"cid":%q}}`, cid))
	typing := fmt.Sprintf(`{"typing":{"cid":%q,"c_type":"g","from":%q,"t":"<number>"}}`, cid, b.id)
	for _, cl := range []*client{a1, a1b, a2, b2, c3} {
		cl.expect(typing)
	}
	settle(t, all...)

	c3.roundTrip(fmt.Sprintf(`{"request":{"message_read":{"cid":%q},"id":"mr"}}`, cid), `{"response":{"id":"mr","success":true}}`)
	read := fmt.Sprintf(`{"message_read":{"...":true,"ids":[%q],"cid":%q,"from":%q}}`, mid, cid, c.id)
	for _, cl := range []*client{a1, a1b, a2} {
		cl.expect(read)
	}
	settle(t, all...)

	b2.roundTrip(fmt.Sprintf(`{"request":{"system_message":{"id":"sm1","cid":%q,"x":{"k":"v"}},"id":"sm"}}`, cid),
		`{"ask":{"mid":"sm1","t":"<number>"}}`)
	sys := fmt.Sprintf(`{"system_message":{"...":true,"_id":"sm1","cid":%q,"from":%q,"x":{"k":"v"}}}`, cid, b.id)
	for _, cl := range []*client{a1, a1b, a2, b3, c3} {
		cl.expect(sys)
	}
	settle(t, all...)

	// Presence is one truth on every node.
	for i, n := range ns {
		cl := n.connected(t, c, fmt.Sprintf("probe%d", i))
		cl.roundTrip(`{"request":{"online_list":{"count":true},"id":"ol"}}`, `{"response":{"id":"ol","count":3}}`)
		cl.roundTrip(`{"request":{"online_list":{"idsOnly":true,"limit":100},"id":"ids"}}`,
			`{"response":{"id":"ids","users":["<string>","<string>","<string>"]}}`)
		_ = cl.c.Close(websocket.StatusNormalClosure, "")
	}

	// alice logs out of "web" on node 1: her other tab of it on node 3 is
	// closed; her phone stays.
	a1.roundTrip(`{"request":{"user_logout":{},"id":"lo"}}`, `{"response":{"id":"lo","success":true}}`)
	a1b.expectClose(4100)
	a2.quiet("after-logout")

	// alice's last device leaves (node 2): carol on node 3 hears offline,
	// then online when alice comes back on node 1.
	before := time.Now().Unix()
	_ = a2.c.Close(websocket.StatusNormalClosure, "")
	got = c3.expect(fmt.Sprintf(`{"last_activity":{%q:"<number>"}}`, a.id))
	if v := int64(got["last_activity"].(map[string]any)[a.id].(float64)); v < before-1 {
		t.Fatalf("offline event: got %d, want about %d", v, before)
	}
	c3.roundTrip(fmt.Sprintf(`{"request":{"user_last_activity":{"ids":[%q]},"id":"la"}}`, a.id),
		fmt.Sprintf(`{"response":{"id":"la","last_activity":{%q:"<number>"}}}`, a.id))
	n1.connected(t, a, "desktop")
	c3.expect(fmt.Sprintf(`{"last_activity":{%q:0}}`, a.id))
	settle(t, b2, b3, c3)
}

// TestClusterSessionRevoke: revoking a session over HTTP on node 1 closes
// its live socket on node 2 within a second (4102), leaving the caller's
// own socket; logout of every session closes the rest everywhere (4100).
func TestClusterSessionRevoke(t *testing.T) {
	ns := startCluster(t, 2, nil)
	n1, n2 := ns[0], ns[1]
	a := n1.signUp(t, "alice")
	webTok, _ := n1.token(t, a, "web")
	web := n1.connectWith(t, webTok, "web")
	phone := n2.connected(t, a, "phone")
	tablet := n2.connected(t, a, "tablet")

	call := func(method, path string) (int, string) {
		req, err := http.NewRequest(method, n1.base+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+webTok)
		resp, err := n1.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := call(http.MethodGet, "/sessions")
	var l struct {
		Sessions []struct {
			ID       string `json:"id"`
			DeviceID string `json:"device_id"`
		} `json:"sessions"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &l) != nil {
		t.Fatalf("GET /sessions: %d %s", status, body)
	}
	var phoneSession string
	for _, x := range l.Sessions {
		if x.DeviceID == "phone" {
			phoneSession = x.ID
		}
	}
	start := time.Now()
	if status, body := call(http.MethodDelete, "/sessions/"+phoneSession); status != 200 {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	phone.expectClose(4102)
	if d := time.Since(start); d > time.Second {
		t.Errorf("revoked socket on the other node closed after %v, want within 1s", d)
	}
	t.Logf("revoked session's socket on node 2 closed %v after the DELETE on node 1", time.Since(start).Round(time.Millisecond))
	settle(t, web, tablet)

	if status, body := call(http.MethodPost, "/logout?global=true"); status != 200 {
		t.Fatalf("global logout: %d %s", status, body)
	}
	web.expectClose(4100)
	tablet.expectClose(4100)
}

// TestClusterRemovedMember: a member removed on one node stops being one
// on the others at once, though they had her membership cached from her
// own use: her typing there is refused and reaches no one, and so is her
// message. (The nodes learn of the change from the commit's packet.)
func TestClusterRemovedMember(t *testing.T) {
	ns := startCluster(t, 2, nil)
	n1, n2 := ns[0], ns[1]
	a, b, c := n1.signUp(t, "alice"), n2.signUp(t, "bob"), n2.signUp(t, "carol")
	a1, b2, c2 := n1.connected(t, a, "web"), n2.connected(t, b, "web"), n2.connected(t, c, "web")

	got := a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"trio","participants":[%q,%q]},"id":"cc"}}`, b.id, c.id),
		`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	for _, cl := range []*client{b2, c2} {
		cl.expect(`{"system_message":{"...":true,"x":{"conversation_created":{"...":true}}}}`)
	}
	// Node 2 learns carol's membership from her typing.
	c2.send(fmt.Sprintf(`{"typing":{"cid":%q}}`, cid))
	typing := fmt.Sprintf(`{"typing":{"cid":%q,"c_type":"g","from":%q,"t":"<number>"}}`, cid, c.id)
	a1.expect(typing)
	b2.expect(typing)
	settle(t, a1, b2, c2)

	a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"participants":{"remove":[%q]}},"id":"rm"}}`, cid, c.id),
		`{"response":{"id":"rm","conversation":{"...":true}}}`)
	c2.expect(`{"system_message":{"...":true,"x":{"conversation_kicked":{"...":true}}}}`)
	b2.expect(`{"system_message":{"...":true,"x":{"conversation_updated":{"...":true}}}}`)
	b2.expect(`{"message":{"...":true,"body":"carol has been removed from the conversation"}}`)

	c2.roundTrip(fmt.Sprintf(`{"typing":{"cid":%q}}`, cid), `{"typing":{"error":{"status":403,"message":"Forbidden."}}}`)
	c2.roundTrip(fmt.Sprintf(`{"message":{"id":"late","cid":%q,"body":"still here?"}}`, cid),
		`{"message":{"id":"late","error":{"status":403,"message":"Forbidden."}}}`)
	settle(t, a1, b2, c2)
}
