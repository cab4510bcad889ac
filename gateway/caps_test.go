package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/samagate/samagate/app"
)

// tryDial opens a websocket with header and returns it, or the HTTP
// status of a refused upgrade.
func (n *node) tryDial(t *testing.T, header http.Header) (*websocket.Conn, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, n.ws, &websocket.DialOptions{HTTPHeader: header, HTTPClient: n.wsHTTP})
	if err != nil {
		if resp == nil {
			t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return c, http.StatusSwitchingProtocols
}

// TestSocketCaps: a user holds at most MaxSocketsPerUser bound sockets on a
// node (a connect beyond gets 429 and the socket stays open,
// unauthenticated), and a client address at most MaxSocketsPerAddress open
// sockets (an upgrade beyond is refused with HTTP 429). Closing one frees
// its place.
func TestSocketCaps(t *testing.T) {
	t.Run("per user", func(t *testing.T) {
		n := startNode(t, func(c *app.Config) { c.Gateway.MaxSocketsPerUser = 3 })
		a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
		tok, _ := n.token(t, a, "d")
		var bound []*client
		for range 3 {
			bound = append(bound, n.connectWith(t, tok, "d"))
		}
		extra := n.dial(t)
		connect := fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"d"},"id":"cn"}}`, tok)
		extra.roundTrip(connect, `{"response":{"id":"cn","error":{"status":429,"message":"Too many attempts. Try again later.","errors":{"connections":["too many open sockets for this user"]}}}}`)
		extra.roundTrip(`{"request":{"session_list":{},"id":"sl"}}`, `{"response":{"id":"sl","error":{"status":401,"message":"Unauthorized."}}}`)
		n.connected(t, b, "d") // another user is not affected
		// Connecting again on a bound socket keeps its place.
		bound[0].roundTrip(connect, `{"response":{"id":"cn","success":true}}`)
		_ = bound[1].c.Close(websocket.StatusNormalClosure, "")
		waitFor(t, "a place freed", func() bool {
			extra.send(connect)
			data, err := extra.read(5 * time.Second)
			return err == nil && string(data) == `{"response":{"id":"cn","success":true}}`
		})
		t.Logf("a user with a cap of 3 sockets: the 4th connect got 429, connected once one closed")
	})

	t.Run("per address", func(t *testing.T) {
		n := startNode(t, func(c *app.Config) { c.Gateway.MaxSocketsPerAddress = 5 })
		var open []*websocket.Conn
		for i := range 5 {
			c, status := n.tryDial(t, nil)
			if c == nil {
				t.Fatalf("socket %d: got status %d, want 101", i+1, status)
			}
			open = append(open, c)
		}
		if c, status := n.tryDial(t, nil); c != nil || status != http.StatusTooManyRequests {
			t.Fatalf("socket 6: got status %d, want 429", status)
		}
		_ = open[0].Close(websocket.StatusNormalClosure, "")
		waitFor(t, "a place freed", func() bool { return n.app.Online() == 4 })
		if c, status := n.tryDial(t, nil); c == nil {
			t.Fatalf("after a close: got status %d, want 101", status)
		}
		t.Logf("an address with a cap of 5 sockets: the 6th upgrade got HTTP 429, the next one after a close succeeded")
	})

	t.Run("per address behind a proxy", func(t *testing.T) {
		n := startNode(t, func(c *app.Config) {
			c.Gateway.MaxSocketsPerAddress = 2
			c.HTTP.TrustProxyHeaders = true // --trust-proxy covers sockets too (app)
		})
		xff := func(v string) http.Header { return http.Header{"X-Forwarded-For": {v}} }
		for _, h := range []http.Header{xff("203.0.113.7"), xff("198.51.100.1, 203.0.113.7")} {
			if c, status := n.tryDial(t, h); c == nil {
				t.Fatalf("%v: got status %d, want 101", h, status)
			}
		}
		// The proxy's own entry is the last: a client's claim before it is not.
		if c, status := n.tryDial(t, xff("192.0.2.1, 203.0.113.7")); c != nil || status != http.StatusTooManyRequests {
			t.Fatalf("third from 203.0.113.7: got status %d, want 429", status)
		}
		if c, status := n.tryDial(t, xff("203.0.113.8")); c == nil {
			t.Fatalf("another client behind the proxy: got status %d, want 101", status)
		}
	})
}
