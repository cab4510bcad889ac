package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestOfflineCatchUpWithOpLog: a device disconnects, events happen, it
// reconnects and op_log_list returns exactly what it missed, in order.
func TestOfflineCatchUpWithOpLog(t *testing.T) {
	n := startNode(t, nil)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	as := n.connected(t, a, "d")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"c"}}`, b.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")

	bs := n.connected(t, b, "phone") // connected after the creation: nothing live
	bs.quiet("late")
	_ = bs.c.Close(websocket.StatusNormalClosure, "")
	time.Sleep(1100 * time.Millisecond) // op_log_list bounds are times: let a second pass
	since := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")

	var mids []string
	for i := range 3 {
		got := as.roundTrip(fmt.Sprintf(`{"message":{"id":"m%d","cid":%q,"body":"b%d"}}`, i, cid, i), `{"ask":{"...":true,"server_mid":"<string>"}}`)
		mids = append(mids, str(t, got, "ask.server_mid"))
	}
	bs = n.connected(t, b, "phone")
	got = bs.roundTrip(`{"request":{"op_log_list":{"created_at":{"gt":"`+since+`"}},"id":"ol"}}`,
		`{"response":{"id":"ol","logs":[{"...":true},{"...":true},{"...":true}]}}`)
	logs := got["response"].(map[string]any)["logs"].([]any)
	for i, l := range logs {
		e := l.(map[string]any)
		packet := e["packet"].(map[string]any)["message"].(map[string]any)
		if packet["_id"] != mids[i] || packet["body"] != fmt.Sprint("b", i) || e["user_id"] != b.id {
			t.Fatalf("log %d: got %v, want message %s", i, e, mids[i])
		}
	}
	// lt: everything before now includes the creation event too.
	bs.roundTrip(`{"request":{"op_log_list":{"created_at":{"lt":"`+time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)+`"}},"id":"lt"}}`,
		`{"response":{"id":"lt","logs":[{"...":true},{"...":true},{"...":true},{"...":true}]}}`)
	bs.roundTrip(`{"request":{"op_log_list":{"created_at":{"lt":null}},"id":"e"}}`,
		`{"response":{"id":"e","error":{"status":422,"message":"Gt or lt query missed.","errors":{"created_at":["Gt or lt query missed."]}}}}`)
	bs.roundTrip(`{"request":{"op_log_list":{},"id":"e2"}}`,
		`{"response":{"id":"e2","error":{"status":422,"message":"Gt or lt query missed.","errors":{"created_at":["Gt or lt query missed."]}}}}`)
}

func TestSystemMessage(t *testing.T) {
	n := startNode(t, nil)
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	as := n.connected(t, a, "d")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"c"}}`, b.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	bs, cs := n.connected(t, b, "d"), n.connected(t, c, "d")

	as.roundTrip(`{"system_message":{"id":"sm-1","cid":"`+cid+`","x":{"any":"thing"}}}`, `{"ask":{"mid":"sm-1","t":"<number>"}}`)
	bs.expect(fmt.Sprintf(`{"system_message":{"_id":"sm-1","eid":"<string>","from":%q,"t":"<number>","x":{"any":"thing"},"cid":%q}}`, a.id, cid))
	as.roundTrip(fmt.Sprintf(`{"system_message":{"id":"sm-2","uids":[%q,"unknown"],"x":{"k":1}}}`, c.id), `{"ask":{"mid":"sm-2","t":"<number>"}}`)
	cs.expect(fmt.Sprintf(`{"system_message":{"_id":"sm-2","eid":"<string>","from":%q,"t":"<number>","x":{"k":1}}}`, a.id))
	bs.quiet("sm")

	var uids []string
	for i := range 21 {
		uids = append(uids, fmt.Sprintf("%q", fmt.Sprint("u", i)))
	}
	steps := []struct{ name, send, want string }{
		{"neither", `{"system_message":{"id":"s","x":{}}}`, `{"system_message":{"id":"s","error":{"status":422,"message":"'cid' or 'uids' field is required.","errors":{"cid":["'cid' or 'uids' field is required."],"uids":["'cid' or 'uids' field is required."]}}}}`},
		{"no x", `{"system_message":{"id":"s","cid":"` + cid + `"}}`, `{"system_message":{"id":"s","error":{"...":true,"status":422,"message":"'x' field is required."}}}`},
		{"21 uids", `{"system_message":{"id":"s","uids":[` + fmt.Sprint(joinComma(uids)) + `],"x":{}}}`, `{"system_message":{"id":"s","error":{"...":true,"status":422,"message":"'uids' max length 20"}}}`},
		{"no id", `{"system_message":{"cid":"` + cid + `","x":{}}}`, `{"system_message":{"error":{"status":422,"message":"Incorrect message ID.","errors":{"id":["Incorrect message ID."]}}}}`},
		{"not a member", `{"system_message":{"id":"s","cid":"` + cid + `","x":{}}}`, `{"system_message":{"id":"s","error":{"status":403,"message":"Forbidden."}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			cl := as
			if s.name == "not a member" {
				cl = cs
			}
			cl.t = t
			cl.roundTrip(s.send, s.want)
		})
	}
}

func joinComma(xs []string) string {
	out := ""
	for i, x := range xs {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}
