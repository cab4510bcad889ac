package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/gateway"
	"github.com/samagate/samagate/protocol"
)

// ratesOff turns the request rate limits off and keeps the in-flight
// bounds: a client pipelining many messages is within its rights here.
func ratesOff(c *app.Config) {
	g := &c.Gateway
	off := gateway.Rate{PerSecond: -1}
	g.SocketRequests, g.UserRequests, g.UserMessages, g.UserSystemMessages, g.UserTyping = off, off, off, off, off
}

// pipeGroup signs up alice, bob and carol, connects alice twice and bob
// and carol once, and makes a group of the three.
func pipeGroup(t *testing.T, n *node) (cid string, alice, aliceOther, bob, carol *client) {
	t.Helper()
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	alice, aliceOther = n.connected(t, a, "a1"), n.connected(t, a, "a2")
	bob, carol = n.connected(t, b, "b"), n.connected(t, c, "c")
	got := alice.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"pipe","participants":[%q,%q]},"id":"cc"}}`, b.id, c.id),
		`{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
	for _, s := range []*client{aliceOther, bob, carol} {
		s.expect(`{"system_message":{"...":true}}`)
	}
	return str(t, got, "response.conversation._id"), alice, aliceOther, bob, carol
}

// frameKind is a frame's top-level key and its "mid", "body" or "id".
func frameKind(t *testing.T, data []byte) (kind, id string) {
	t.Helper()
	var f map[string]struct {
		MID  string          `json:"mid"`
		Body string          `json:"body"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(data, &f); err != nil || len(f) != 1 {
		t.Fatalf("frame %q is not one JSON object with one key", data)
	}
	for k, v := range f {
		switch {
		case v.MID != "":
			return k, v.MID
		case v.Body != "":
			return k, v.Body
		}
		var s string
		_ = json.Unmarshal(v.ID, &s)
		return k, s
	}
	return "", ""
}

// TestPipelinedMessages: one socket sends 200 messages without waiting for
// any ask. It gets the 200 asks in request order, and every other socket
// of the members (alice's other one included) gets the 200 events in
// commit order, which is request order.
func TestPipelinedMessages(t *testing.T) {
	n := startNode(t, ratesOff)
	cid, alice, aliceOther, bob, carol := pipeGroup(t, n)
	const count = 200
	start := time.Now()
	for i := range count {
		alice.send(fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"b%d"}}`, i, cid, i))
	}
	for i := range count {
		data, err := alice.read(10 * time.Second)
		if err != nil {
			t.Fatalf("ask %d: %v", i, err)
		}
		if kind, mid := frameKind(t, data); kind != "ask" || mid != fmt.Sprint("m", i) {
			t.Fatalf("reply %d: got %s %s, want the ask of m%d", i, kind, mid, i)
		}
	}
	t.Logf("%d pipelined messages acknowledged in request order in %v", count, time.Since(start).Round(time.Millisecond))
	for name, s := range map[string]*client{"alice's other socket": aliceOther, "bob": bob, "carol": carol} {
		for i := range count {
			data, err := s.read(10 * time.Second)
			if err != nil {
				t.Fatalf("%s: event %d: %v", name, i, err)
			}
			if kind, body := frameKind(t, data); kind != "message" || body != fmt.Sprint("b", i) {
				t.Fatalf("%s: event %d: got %s %s, want message b%d", name, i, kind, body, i)
			}
		}
	}
}

// TestPipelineReadYourWrites: a message_list sent right after 50 pipelined
// messages (in the same burst) is answered after their 50 asks and lists
// all 50.
func TestPipelineReadYourWrites(t *testing.T) {
	n := startNode(t, ratesOff)
	cid, alice, _, _, _ := pipeGroup(t, n)
	const count = 50
	var burst []string
	for i := range count {
		burst = append(burst, fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"b%d"}}`, i, cid, i))
	}
	burst = append(burst, fmt.Sprintf(`{"request":{"message_list":{"cid":%q,"limit":100},"id":"list"}}`, cid))
	for _, f := range burst {
		alice.send(f)
	}
	for i := range count {
		data, err := alice.read(10 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if kind, mid := frameKind(t, data); kind != "ask" || mid != fmt.Sprint("m", i) {
			t.Fatalf("reply %d: got %s %s, want the ask of m%d", i, kind, mid, i)
		}
	}
	got := alice.expect(`{"response":{"id":"list","messages":"<any>"}}`)
	msgs := got["response"].(map[string]any)["messages"].([]any)
	var bodies []string
	for _, m := range msgs {
		bodies = append(bodies, m.(map[string]any)["body"].(string))
	}
	if len(bodies) != count {
		t.Fatalf("message_list after %d pipelined messages: got %d messages %v", count, len(bodies), bodies)
	}
	for i := range count {
		if !slices.Contains(bodies, fmt.Sprint("b", i)) {
			t.Fatalf("message_list misses b%d", i)
		}
	}
}

// TestPipelineRepliesInOrder: the replies to pipelined messages keep
// request order whatever each one's fate: an ask, a validation error from
// the submit, a 404, a 500 from a panicking handler, and the reply to an
// undecodable frame and to a ping in between.
func TestPipelineRepliesInOrder(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		ratesOff(c)
		gateway.SetHandlerHook(&c.Gateway, func(r protocol.Request) {
			if bytes.Contains(r.Params, []byte(`"panic":true`)) {
				panic("injected by the test")
			}
		})
	})
	cid, alice, _, bob, _ := pipeGroup(t, n)
	frames := []struct{ send, want string }{
		{fmt.Sprintf(`{"message":{"id":"m0","cid":%q,"body":"b0"}}`, cid), `{"ask":{"...":true,"mid":"m0"}}`},
		{fmt.Sprintf(`{"message":{"id":"m1","cid":%q}}`, cid), `{"message":{"id":"m1","error":{"...":true,"status":422}}}`},
		{fmt.Sprintf(`{"message":{"id":"m2","cid":%q,"body":"b2"}}`, cid), `{"ask":{"...":true,"mid":"m2"}}`},
		{`{"message":{"id":"m3","cid":"0123456789abcdef01234567","body":"b3"}}`, `{"message":{"id":"m3","error":{"...":true,"status":404}}}`},
		{fmt.Sprintf(`{"message":{"id":"m4","cid":%q,"body":"b4","panic":true}}`, cid), `{"message":{"id":"m4","error":{"status":500,"message":"Internal server error."}}}`},
		{`{not json`, `{"response":{"error":{"...":true,"status":400}}}`},
		{fmt.Sprintf(`{"message":{"id":"m6","cid":%q,"body":"b6"}}`, cid), `{"ask":{"...":true,"mid":"m6"}}`},
		{`{"request":{"ping":{},"id":"p7"}}`, `{"response":{"id":"p7","pong":{}}}`},
		{fmt.Sprintf(`{"message":{"id":"m8","cid":%q,"body":"b8"}}`, cid), `{"ask":{"...":true,"mid":"m8"}}`},
	}
	for _, f := range frames {
		alice.send(f.send)
	}
	for _, f := range frames {
		alice.expect(f.want)
	}
	for _, b := range []string{"b0", "b2", "b6", "b8"} {
		bob.expect(fmt.Sprintf(`{"message":{"...":true,"body":%q}}`, b))
	}
}

// TestPipelineBound: a client that pipelines messages past the bound
// without reading (500 in one write against MaxInflightFrames 64, of
// which at most 32 commit at a time) is closed with CloseFlood (4002)
// like any flood; the node goes on serving.
func TestPipelineBound(t *testing.T) {
	n := startNode(t, func(c *app.Config) {
		ratesOff(c)
		c.Gateway.MaxInflightFrames = 64
	})
	a, b := n.signUp(t, "mallory"), n.signUp(t, "bob")
	tok, _ := n.token(t, a, "d")
	rc, _ := rawDial(t, n.app.Addr().String(), nil)
	_, _ = rc.c.Write(rawFrame(fmt.Appendf(nil, `{"request":{"connect":{"token":%q,"device_id":"d"},"id":"cn"}}`, tok)))
	if _, p, err := rc.readFrame(5 * time.Second); err != nil || !strings.Contains(string(p), `"success":true`) {
		t.Fatalf("connect: %s %v", p, err)
	}
	_, _ = rc.c.Write(rawFrame(fmt.Appendf(nil, `{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"c"}}`, b.id)))
	_, p, err := rc.readFrame(5 * time.Second)
	var created struct {
		Response struct {
			Conversation struct {
				ID string `json:"_id"`
			} `json:"conversation"`
		} `json:"response"`
	}
	if err != nil || json.Unmarshal(p, &created) != nil || created.Response.Conversation.ID == "" {
		t.Fatalf("conversation_create: %s %v", p, err)
	}
	cid := created.Response.Conversation.ID
	var burst []byte
	for i := range 500 {
		burst = append(burst, rawFrame(fmt.Appendf(nil, `{"message":{"id":"m%d","cid":%q,"body":"b"}}`, i, cid))...)
	}
	_ = rc.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, _ = rc.c.Write(burst)
	answered, code := rc.readUntilClose(10 * time.Second)
	t.Logf("500 messages in one write against a bound of 64 frames: %d answered, closed with %d", answered, code)
	if code != protocol.CloseFlood || answered >= 500 {
		t.Fatalf("got %d answered and close code %d, want fewer than 500 and %d", answered, code, protocol.CloseFlood)
	}
	n.dial(t).roundTrip(`{"request":{"ping":{},"id":"after"}}`, `{"response":{"id":"after","pong":{}}}`)
}
