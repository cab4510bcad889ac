package gateway_test

import (
	"fmt"
	"testing"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
)

const rateLimited = `"error":{"status":429,"message":"Too many requests. Slow down."}`

// slow is a rate that refills too slowly to matter within a test.
func slow(burst int) gateway.Rate { return gateway.Rate{PerSecond: 0.01, Burst: burst} }

// pipeline sends n pings with ids <tag>0.. at once and counts the pongs and
// the 429 replies, which must come in request order: answered first.
func pipeline(t *testing.T, c *client, tag string, n int) (answered, limited int) {
	t.Helper()
	for i := range n {
		c.send(fmt.Sprintf(`{"request":{"ping":{},"id":"%s%d"}}`, tag, i))
	}
	for i := range n {
		got := c.expect(fmt.Sprintf(`{"response":{"id":"%s%d","...":true}}`, tag, i))
		if _, ok := got["response"].(map[string]any)["pong"]; ok {
			if limited > 0 {
				t.Fatalf("%s%d answered after a 429", tag, i)
			}
			answered++
			continue
		}
		limited++
	}
	return answered, limited
}

// TestRateLimits: what a socket sends is limited per socket and per user
// (Config.SocketRequests, UserRequests, UserMessages, UserSystemMessages,
// UserTyping). Over a limit each request gets one 429 in its own reply
// shape, nothing is done, and the socket stays open.
func TestRateLimits(t *testing.T) {
	t.Run("per socket", func(t *testing.T) {
		n := startNode(t, func(c *app.Config) { c.Gateway.SocketRequests = slow(20) })
		c := n.dial(t) // unauthenticated: the socket's bucket applies all the same
		answered, limited := pipeline(t, c, "p", 40)
		t.Logf("40 pings at once from one socket (burst 20): %d answered, %d got 429", answered, limited)
		if answered != 20 || limited != 20 {
			t.Fatalf("got %d answered and %d limited, want 20 and 20", answered, limited)
		}
		c.roundTrip(`{"request":{"ping":{},"id":"x"}}`, `{"response":{"id":"x",`+rateLimited+`}}`)
		n.dial(t).roundTrip(`{"request":{"ping":{},"id":"y"}}`, `{"response":{"id":"y","pong":{}}}`)
	})

	t.Run("per user", func(t *testing.T) {
		n := startNode(t, func(c *app.Config) { c.Gateway.UserRequests = slow(30) })
		a := n.signUp(t, "alice")
		c1, c2 := n.connected(t, a, "laptop"), n.connected(t, a, "phone")
		a1, l1 := pipeline(t, c1, "a", 20)
		a2, l2 := pipeline(t, c2, "b", 20)
		t.Logf("20 pings at once from each of a user's two sockets (user burst 30): %d+%d answered, %d+%d got 429", a1, a2, l1, l2)
		if a1 != 20 || a2 != 10 {
			t.Fatalf("got %d and %d answered, want 20 and 10", a1, a2)
		}
		n.dial(t).roundTrip(`{"request":{"ping":{},"id":"anon"}}`, `{"response":{"id":"anon","pong":{}}}`)
	})

	t.Run("messages, system messages, typing", func(t *testing.T) {
		n := startNode(t, func(c *app.Config) {
			c.Gateway.UserMessages, c.Gateway.UserSystemMessages, c.Gateway.UserTyping = slow(3), slow(2), slow(2)
		})
		a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
		ca, cb := n.connected(t, a, "d"), n.connected(t, b, "d")
		got := ca.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc"}}`, b.id),
			`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
		cid := str(t, got, "response.conversation._id")
		cb.expect(`{"system_message":{"...":true}}`)

		for i := range 5 {
			ca.send(fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"hi %d"}}`, i, cid, i))
		}
		for i := range 3 {
			ca.expect(fmt.Sprintf(`{"ask":{"...":true,"mid":"m%d"}}`, i))
		}
		for i := 3; i < 5; i++ {
			ca.expect(fmt.Sprintf(`{"message":{"id":"m%d",%s}}`, i, rateLimited))
		}
		for i := range 3 {
			cb.expect(fmt.Sprintf(`{"message":{"...":true,"body":"hi %d"}}`, i))
		}
		cb.quiet("messages")

		for range 3 {
			ca.send(fmt.Sprintf(`{"typing":{"cid":%q}}`, cid))
		}
		ca.expect(`{"typing":{` + rateLimited + `}}`)
		cb.expect(`{"typing":{"...":true,"cid":"` + cid + `"}}`)
		cb.expect(`{"typing":{"...":true,"cid":"` + cid + `"}}`)
		cb.quiet("typing")

		for i := range 3 {
			ca.send(fmt.Sprintf(`{"system_message":{"id":"s%d","cid":%q,"x":{"n":%d}}}`, i, cid, i))
		}
		ca.expect(`{"ask":{"...":true,"mid":"s0"}}`)
		ca.expect(`{"ask":{"...":true,"mid":"s1"}}`)
		ca.expect(`{"system_message":{"id":"s2",` + rateLimited + `}}`)
		t.Logf("a user sent 5 messages, 3 typing, 3 system messages at once (bursts 3, 2, 2): 3, 2, 2 delivered; the rest got 429 in SAMA's shape")
		cb.expect(`{"system_message":{"...":true,"x":{"n":0}}}`)
		cb.expect(`{"system_message":{"...":true,"x":{"n":1}}}`)
		cb.quiet("system")
		ca.quiet("sender") // other requests still pass
	})
}
