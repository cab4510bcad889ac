package gateway_test

import (
	"fmt"
	"testing"
)

// quiet asserts that nothing is queued for c: the next frame is the pong.
func (c *client) quiet(tag string) {
	c.t.Helper()
	c.roundTrip(`{"request":{"ping":{},"id":"q-`+tag+`"}}`, `{"response":{"id":"q-`+tag+`","pong":{}}}`)
}

// TestChatMultiDevice: A on two devices (two tabs on one of them), B on two
// devices. Each event arrives exactly once on every socket it should reach
// and never on the sending socket.
func TestChatMultiDevice(t *testing.T) {
	n := startNode(t, nil)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	aTok, _ := n.token(t, a, "laptop")
	a1, a2 := n.connectWith(t, aTok, "laptop"), n.connectWith(t, aTok, "laptop")
	a3 := n.connected(t, a, "phone")
	b1, b2 := n.connected(t, b, "laptop"), n.connected(t, b, "phone")
	others := []*client{a2, a3, b1, b2}

	got := a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc"}}`, b.id),
		fmt.Sprintf(`{"response":{"id":"cc","conversation":{"_id":"<string>","type":"u","owner_id":%q,"opponent_id":%q,"created_at":"<string>","updated_at":"<string>","unread_messages_count":0}}}`, a.id, b.id))
	cid := str(t, got, "response.conversation._id")
	for _, c := range others {
		c.expect(fmt.Sprintf(`{"system_message":{"_id":%q,"cid":%q,"eid":"<string>","from":%q,"t":"<number>","x":{"conversation_created":{"...":true,"_id":%q,"type":"u"}}}}`, cid, cid, a.id, cid))
	}
	a1.quiet("create")
	// Creating it again returns the same conversation and tells nobody.
	a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"cc2"}}`, b.id),
		fmt.Sprintf(`{"response":{"id":"cc2","conversation":{"...":true,"_id":%q}}}`, cid))

	got = a1.roundTrip(fmt.Sprintf(`{"message":{"id":"m-1","cid":%q,"body":"hello"}}`, cid),
		`{"ask":{"mid":"m-1","server_mid":"<string>","t":"<number>","modified":null,"bot_message":null}}`)
	mid := str(t, got, "ask.server_mid")
	msg := fmt.Sprintf(`{"message":{"_id":%q,"eid":%q,"cid":%q,"c_type":"u","from":%q,"t":"<number>","body":"hello","x":{},"created_at":"<string>","updated_at":"<string>"}}`, mid, mid, cid, a.id)
	for _, c := range others {
		c.expect(msg)
	}
	a1.quiet("message")

	b1.roundTrip(fmt.Sprintf(`{"request":{"message_list":{"cid":%q,"limit":30},"id":"ml"}}`, cid),
		fmt.Sprintf(`{"response":{"id":"ml","messages":[{"_id":%q,"cid":%q,"from":%q,"t":"<number>","body":"hello","x":{},"created_at":"<string>","updated_at":"<string>","reactions":{}}]}}`, mid, cid, a.id))
	b1.roundTrip(fmt.Sprintf(`{"request":{"message_read":{"cid":%q},"id":"mr"}}`, cid), `{"response":{"id":"mr","success":true}}`)
	read := fmt.Sprintf(`{"message_read":{"ids":[%q],"cid":%q,"from":%q,"eid":"<string>"}}`, mid, cid, b.id)
	for _, c := range []*client{a1, a2, a3} {
		c.expect(read)
	}
	b2.quiet("read")
	b1.roundTrip(fmt.Sprintf(`{"request":{"message_read":{"cid":%q},"id":"mr2"}}`, cid), `{"response":{"id":"mr2","success":true}}`)
	a1.quiet("reread") // re-reading sends nothing

	a1.roundTrip(fmt.Sprintf(`{"request":{"message_list":{"cid":%q},"id":"own"}}`, cid),
		fmt.Sprintf(`{"response":{"id":"own","messages":[{"...":true,"_id":%q,"status":"read"}]}}`, mid))

	b1.send(fmt.Sprintf(`{"typing":{"cid":%q}}`, cid))
	typing := fmt.Sprintf(`{"typing":{"cid":%q,"c_type":"u","from":%q,"t":"<number>"}}`, cid, b.id)
	for _, c := range []*client{a1, a2, a3, b2} {
		c.expect(typing)
	}
	b1.quiet("typing")

	a1.roundTrip(`{"message":{"id":"m-2","cid":"`+cid+`","body":"again"}}`, `{"ask":{"...":true,"mid":"m-2"}}`)
	for _, c := range others {
		c.expect(`{"message":{"...":true,"body":"again"}}`)
	}
	b1.roundTrip(`{"request":{"conversation_list":{},"id":"cl"}}`,
		fmt.Sprintf(`{"response":{"id":"cl","conversations":[{"...":true,"_id":%q,"unread_messages_count":1,"last_message":{"...":true,"body":"again","from":%q}}]}}`, cid, a.id))
	a1.roundTrip(`{"request":{"get_participants_by_cids":{"cids":["`+cid+`","bogus"]},"id":"gp"}}`,
		fmt.Sprintf(`{"response":{"id":"gp","users":[%s,%s],"conversations":{%q:["<string>","<string>"]}}}`, userPattern, userPattern, cid))
}

// TestChatPermissions: a non-participant can do nothing with a conversation
// and learns nothing about it.
func TestChatPermissions(t *testing.T) {
	n := startNode(t, nil)
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	as := n.connected(t, a, "d")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q]},"id":"g"}}`, b.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>","type":"g","name":"team"}}}`)
	cid := str(t, got, "response.conversation._id")
	cs := n.connected(t, c, "d")
	steps := []struct{ name, send, want string }{
		{"message", `{"message":{"id":"x","cid":"` + cid + `","body":"hi"}}`, `{"message":{"id":"x","error":{"status":403,"message":"Forbidden."}}}`},
		{"message_list", `{"request":{"message_list":{"cid":"` + cid + `"},"id":"l"}}`, `{"response":{"id":"l","error":{"status":403,"message":"Forbidden."}}}`},
		{"message_read", `{"request":{"message_read":{"cid":"` + cid + `"},"id":"r"}}`, `{"response":{"id":"r","error":{"status":403,"message":"Forbidden."}}}`},
		{"typing", `{"typing":{"cid":"` + cid + `"}}`, `{"typing":{"error":{"status":403,"message":"Forbidden."}}}`},
		{"participants", `{"request":{"get_participants_by_cids":{"cids":["` + cid + `"]},"id":"p"}}`, `{"response":{"id":"p","users":[],"conversations":{}}}`},
		{"list", `{"request":{"conversation_list":{},"id":"cl"}}`, `{"response":{"id":"cl","conversations":[]}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			cs.t = t
			cs.roundTrip(s.send, s.want)
		})
	}
	as.quiet("perm") // nothing leaked to the members either
}

func TestChatErrors(t *testing.T) {
	n := startNode(t, nil)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	c := n.connected(t, a, "d")
	steps := []struct{ name, send, want string }{
		{"no type", `{"request":{"conversation_create":{"participants":["` + b.id + `"]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Conversation type missed.","errors":{"type":["Conversation type missed."]}}}}`},
		{"bad type", `{"request":{"conversation_create":{"type":"x","participants":["` + b.id + `"]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"The type you entered is incorrect.","errors":{"type":["The type you entered is incorrect."]}}}}`},
		{"group without name", `{"request":{"conversation_create":{"type":"g","participants":["` + b.id + `"]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"You haven't specified a conversation name.","errors":{"name":["You haven't specified a conversation name."]}}}}`},
		{"no participants", `{"request":{"conversation_create":{"type":"g","name":"n","participants":[]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Please select at least one user.","errors":{"ids":["Please select at least one user."]}}}}`},
		{"only the owner", `{"request":{"conversation_create":{"type":"g","name":"n","participants":["` + a.id + `"]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Participants not provided.","errors":{"participants":["Participants not provided."]}}}}`},
		{"private with self", `{"request":{"conversation_create":{"type":"u","participants":["` + a.id + `"]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"The specified user is incorrect.","errors":{"id":["The specified user is incorrect."]}}}}`},
		{"message numeric id", `{"message":{"id":5,"cid":"c","body":"x"}}`, `{"message":{"id":5,"error":{"status":422,"message":"Incorrect message ID.","errors":{"id":["Incorrect message ID."]}}}}`},
		{"message without cid", `{"message":{"id":"m","body":"x"}}`, `{"message":{"id":"m","error":{"...":true,"status":422,"message":"'cid' field is required."}}}`},
		{"message unknown cid", `{"message":{"id":"m","cid":"nope","body":"x"}}`, `{"message":{"id":"m","error":{"status":404,"message":"Conversation not found."}}}`},
		{"message without body", `{"message":{"id":"m","cid":"nope"}}`, `{"message":{"id":"m","error":{"status":422,"message":"Either message body or attachments required.","errors":{"body":["Either message body or attachments required."],"attachments":["Either message body or attachments required."]}}}}`},
		{"typing without cid", `{"typing":{}}`, `{"typing":{"error":{"...":true,"status":422,"message":"'cid' field is required."}}}`},
		{"typing unknown cid", `{"typing":{"cid":"nope"}}`, `{"typing":{"error":{"status":404,"message":"Conversation not found."}}}`},
		{"participants without cids", `{"request":{"get_participants_by_cids":{},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'cids' field is required."}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(s.send, s.want)
		})
	}
}
