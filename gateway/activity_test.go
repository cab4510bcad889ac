package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestLastActivityEvents: a follower sees online (0) when the user's first
// device connects and offline (unix seconds) only when the last one leaves,
// never while another device is still connected.
func TestLastActivityEvents(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	b := n.signUp(t, "bob")
	watcher := n.connected(t, a, "laptop")

	got := watcher.roundTrip(fmt.Sprintf(`{"request":{"user_last_activity_subscribe":{"id":%q},"id":"s"}}`, b.id),
		fmt.Sprintf(`{"response":{"id":"s","last_activity":{%q:"<number>"}}}`, b.id))
	if v := got["response"].(map[string]any)["last_activity"].(map[string]any)[b.id].(float64); v <= 0 {
		t.Fatalf("never-connected user: got last_activity %v, want the sign-up time (> 0, not online)", v)
	}

	b1 := n.connected(t, b, "phone")
	watcher.expect(fmt.Sprintf(`{"last_activity":{%q:0}}`, b.id))
	b2 := n.connected(t, b, "desktop")
	b1.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "phone socket gone", func() bool { return n.app.Online() == 2 })
	watcher.roundTrip(`{"request":{"ping":{},"id":"quiet"}}`, `{"response":{"id":"quiet","pong":{}}}`) // no offline event came first

	before := time.Now().Unix()
	b2.c.Close(websocket.StatusNormalClosure, "")
	got = watcher.expect(fmt.Sprintf(`{"last_activity":{%q:"<number>"}}`, b.id))
	if v := int64(got["last_activity"].(map[string]any)[b.id].(float64)); v < before-1 || v > time.Now().Unix()+1 {
		t.Fatalf("offline event: got %d, want about %d", v, before)
	}
	watcher.roundTrip(fmt.Sprintf(`{"request":{"user_last_activity":{"ids":[%q,%q,"unknown"]},"id":"la"}}`, a.id, b.id),
		fmt.Sprintf(`{"response":{"id":"la","last_activity":{%q:0,%q:"<number>"}}}`, a.id, b.id))

	// After unsubscribing, nothing more arrives.
	watcher.roundTrip(`{"request":{"user_last_activity_unsubscribe":{},"id":"u"}}`, `{"response":{"id":"u","success":true}}`)
	n.connected(t, b, "phone")
	watcher.roundTrip(`{"request":{"ping":{},"id":"after"}}`, `{"response":{"id":"after","pong":{}}}`)
}

func TestActivityErrors(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	c := n.connected(t, a, "d")
	steps := []struct{ name, send, want string }{
		{"subscribe without id", `{"request":{"user_last_activity_subscribe":{},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"User ID missed.","errors":{"id":["User ID missed."]}}}}`},
		{"subscribe to unknown", `{"request":{"user_last_activity_subscribe":{"id":"nobody"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"The specified user is incorrect.","errors":{"id":["The specified user is incorrect."]}}}}`},
		{"last activity without ids", `{"request":{"user_last_activity":{},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'ids' field is required."}}}`},
		{"online_list limit 150", `{"request":{"online_list":{"limit":150},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'limit' must be between 1 and 100"}}}`},
		{"online_list negative offset", `{"request":{"online_list":{"offset":-1},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'offset' must be 0 or more"}}}`},
		{"activity_status wrong type", `{"request":{"activity_status":{"isInactive":"yes"},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'isInactive' has an incorrect type."}}}`},
		{"activity_status", `{"request":{"activity_status":{"isInactive":true},"id":"ok"}}`, `{"response":{"id":"ok","success":true}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(s.send, s.want)
		})
	}
}

// TestOnlineList: counts and pages the organization's online users and
// returns only public user fields.
func TestOnlineList(t *testing.T) {
	n := startNode(t, nil)
	u1, u2, u3 := n.signUp(t, "user_1"), n.signUp(t, "user_2"), n.signUp(t, "user_3")
	c := n.connected(t, u1, "d")
	n.connected(t, u3, "d")
	n.connected(t, u3, "d2")
	_ = u2
	c.roundTrip(`{"request":{"online_list":{"count":true},"id":"c"}}`, `{"response":{"id":"c","count":2}}`)
	c.roundTrip(`{"request":{"online_list":{"idsOnly":true},"id":"i"}}`, `{"response":{"id":"i","users":["<string>","<string>"]}}`)
	c.roundTrip(`{"request":{"online_list":{"idsOnly":true,"limit":1},"id":"l"}}`, `{"response":{"id":"l","users":["<string>"]}}`)
	c.roundTrip(`{"request":{"online_list":{"idsOnly":true,"offset":5},"id":"o"}}`, `{"response":{"id":"o","users":[]}}`)
	got := c.roundTrip(`{"request":{"online_list":{"limit":10},"id":"u"}}`, `{"response":{"id":"u","users":[`+userPattern+`,`+userPattern+`]}}`)
	public := map[string]bool{"_id": true, "native_id": true, "login": true, "email": true, "phone": true, "recent_activity": true,
		"created_at": true, "updated_at": true, "first_name": true, "last_name": true, "avatar_object": true, "avatar_url": true}
	for _, u := range got["response"].(map[string]any)["users"].([]any) {
		for k := range u.(map[string]any) {
			if !public[k] {
				t.Fatalf("online_list leaked field %q", k)
			}
		}
	}
}
