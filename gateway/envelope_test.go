package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// TestEnvelopeTranscript checks the envelope rules of PROTOCOL.md 1–6 over a
// real socket: every bad frame gets exactly one well-formed error reply and
// the socket stays usable.
func TestEnvelopeTranscript(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial(t)
	steps := []struct {
		name, send, want string
	}{
		{"ping wrapped", `{"request":{"ping":{},"id":"p1"}}`, `{"response":{"id":"p1","pong":{}}}`},
		{"id before method", `{"request":{"id":"p2","ping":{}}}`, `{"response":{"id":"p2","pong":{}}}`},
		{"numeric id echoed", `{"request":{"ping":{},"id":42}}`, `{"response":{"id":42,"pong":{}}}`},
		{"top-level with top-level id", `{"ping":{},"id":"p3"}`, `{"response":{"id":"p3","pong":{}}}`},
		{"no id", `{"request":{"ping":{}}}`, `{"response":{"pong":{}}}`},
		{"null params", `{"request":{"ping":null,"id":"p4"}}`, `{"response":{"id":"p4","pong":{}}}`},
		{"malformed json", `{"request":`, `{"response":{"error":{"status":400,"message":"Bad request - invalid data format"}}}`},
		{"not an object", `[1,2]`, `{"response":{"error":{"status":400,"message":"Bad request - invalid data format"}}}`},
		{"empty object", `{}`, `{"response":{"error":{"status":400,"message":"Bad request - missing method"}}}`},
		{"id only", `{"id":"x"}`, `{"response":{"id":"x","error":{"status":400,"message":"Bad request - missing method"}}}`},
		{"two methods", `{"request":{"ping":{},"connect":{},"id":"t"}}`, `{"response":{"id":"t","error":{"status":400,"message":"Bad request - more than one method"}}}`},
		{"unknown method wrapped", `{"request":{"constructor":{},"id":"u1"}}`, `{"response":{"id":"u1","error":{"status":404,"message":"Method not found."}}}`},
		{"unknown method top-level", `{"foo":{"id":"inner"}}`, `{"foo":{"id":"inner","error":{"status":404,"message":"Method not found."}}}`},
		{"out of scope method", `{"request":{"push_event_create":{},"id":"u2"}}`, `{"response":{"id":"u2","error":{"status":404,"message":"Method not supported."}}}`},
		{"params not an object", `{"request":{"ping":"x","id":"u3"}}`, `{"response":{"id":"u3","error":{"...":true,"status":400,"message":"Bad request - invalid data format"}}}`},
		{"unauthenticated wrapped", `{"request":{"user_search":{"keyword":"a"},"id":"a1"}}`, `{"response":{"id":"a1","error":{"status":401,"message":"Unauthorized."}}}`},
		{"unauthenticated top-level keeps inner id", `{"user_search":{"id":"inner"},"id":"outer"}`, `{"user_search":{"id":"inner","error":{"status":401,"message":"Unauthorized."}}}`},
		{"still alive", `{"request":{"ping":{},"id":"end"}}`, `{"response":{"id":"end","pong":{}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(s.send, s.want)
		})
	}
}

// TestUnauthorizedEveryMethod: every method that needs a session answers 401
// before looking at its params (SAMA's order: guard, then validation).
func TestUnauthorizedEveryMethod(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial(t)
	for _, m := range []string{"user_logout", "user_edit", "user_delete", "user_search", "get_users_by_ids",
		"user_last_activity_subscribe", "user_last_activity_unsubscribe", "user_last_activity", "online_list", "activity_status"} {
		t.Run(m, func(t *testing.T) {
			c.t = t
			c.roundTrip(`{"request":{"`+m+`":{"bogus":[1,2,3]},"id":"r"}}`,
				`{"response":{"id":"r","error":{"status":401,"message":"Unauthorized."}}}`)
		})
	}
}

// TestOversizedFrame: a frame over MaxFrameBytes gets 413 and the socket lives;
// a frame beyond the hard cap closes it with 1009.
func TestOversizedFrame(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial(t)
	big := `{"request":{"ping":{},"id":"` + strings.Repeat("x", 70<<10) + `"}}`
	c.roundTrip(big, `{"response":{"error":{"status":413,"message":"Request too large."}}}`)
	c.roundTrip(`{"request":{"ping":{},"id":"after"}}`, `{"response":{"id":"after","pong":{}}}`)

	huge := strings.Repeat(" ", 2<<20)
	_ = c.c.Write(context.Background(), websocket.MessageText, []byte(huge)) // may fail: the server hangs up mid-frame
	data, err := c.read(5e9)
	if err == nil {
		t.Fatalf("after a frame over the hard cap: got frame %s, want the socket closed", data)
	}
	_ = websocket.CloseStatus(err)
}

// TestBadFramesClose: a client that keeps sending garbage is answered each
// time, then closed with 1008.
func TestBadFramesClose(t *testing.T) {
	n := startNode(t, nil)
	c := n.dial(t)
	for range 20 {
		c.send(`nonsense`)
	}
	for range 20 {
		c.expect(`{"response":{"error":{"status":400,"message":"Bad request - invalid data format"}}}`)
	}
	c.expectClose(websocket.StatusPolicyViolation)
}
