package gateway_test

import (
	"fmt"
	"testing"
)

// TestConversationUpdate: owner/admin rights, member add/remove with
// notifications, ownership hand-off, and deletion when everybody is removed.
func TestConversationUpdate(t *testing.T) {
	n := startNode(t, nil)
	a, b, c, d := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol"), n.signUp(t, "dave")
	as, bs, cs, ds := n.connected(t, a, "d"), n.connected(t, b, "d"), n.connected(t, c, "d"), n.connected(t, d, "d")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q,%q]},"id":"g"}}`, b.id, c.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)
	cs.expect(`{"system_message":{"...":true}}`)
	upd := func(cl *client, id, body, want string) {
		t.Helper()
		cl.roundTrip(`{"request":{"conversation_update":`+body+`,"id":"`+id+`"}}`, `{"response":{"id":"`+id+`",`+want+`}}`)
	}

	upd(bs, "u0", `{"id":"`+cid+`","name":"mine"}`, `"error":{"status":403,"message":"Forbidden."}`)
	upd(ds, "u1", `{"id":"`+cid+`","name":"mine"}`, `"error":{"status":403,"message":"Forbidden."}`)
	upd(as, "u2", `{"id":"bogus","name":"x"}`, `"error":{"status":400,"message":"Bad Request."}`)

	// Rename and add dave: everyone in it (not the acting socket) hears of it.
	upd(as, "u3", fmt.Sprintf(`{"id":%q,"name":"renamed","description":"d","participants":{"add":[%q]}}`, cid, d.id),
		`"conversation":{"...":true,"name":"renamed","description":"d"}`)
	for _, cl := range []*client{bs, cs, ds} {
		cl.expect(`{"system_message":{"...":true,"x":{"conversation_updated":{"...":true,"name":"renamed"}}}}`)
		cl.expect(`{"message":{"...":true,"body":"dave has been added to the conversation","x":{"type":"added_participant","user":{"...":true,"login":"dave"}}}}`)
	}
	as.quiet("u3")

	// bob becomes admin and removes carol, who is told she was kicked.
	upd(as, "u4", fmt.Sprintf(`{"id":%q,"admins":{"add":[%q]}}`, cid, b.id), `"conversation":{"...":true}`)
	for _, cl := range []*client{bs, cs, ds} {
		cl.expect(`{"system_message":{"...":true}}`)
	}
	upd(bs, "u5", fmt.Sprintf(`{"id":%q,"participants":{"remove":[%q]}}`, cid, c.id), `"conversation":{"...":true}`)
	cs.expect(`{"system_message":{"...":true,"x":{"conversation_kicked":{"...":true}}}}`)
	cs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"l"}}`, `{"response":{"id":"l","error":{"status":403,"message":"Forbidden."}}}`)
	for _, cl := range []*client{as, ds} {
		cl.expect(`{"system_message":{"...":true,"x":{"conversation_updated":{"...":true}}}}`)
		cl.expect(`{"message":{"...":true,"body":"carol has been removed from the conversation"}}`)
	}

	// Only the owner removes the owner; that hands ownership on. Removing
	// everyone deletes.
	upd(bs, "u6a", fmt.Sprintf(`{"id":%q,"participants":{"remove":[%q]}}`, cid, a.id),
		`"error":{"status":403,"message":"Forbidden.","errors":{"participants.remove":["only the owner can remove the owner"]}}`)
	got = as.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"participants":{"remove":[%q]}},"id":"u6"}}`, cid, a.id),
		`{"response":{"id":"u6","conversation":{"...":true,"owner_id":"<string>"}}}`)
	if owner := str(t, got, "response.conversation.owner_id"); owner == a.id {
		t.Fatalf("owner after removing the owner: still %s", owner)
	}
	bs.expect(`{"system_message":{"...":true,"x":{"conversation_updated":{"...":true}}}}`)
	bs.expect(`{"message":{"...":true,"body":"alice has been removed from the conversation"}}`)
	ds.expect(`{"system_message":{"...":true,"x":{"conversation_updated":{"...":true}}}}`)
	ds.expect(`{"message":{"...":true,"body":"alice has been removed from the conversation"}}`)
	upd(bs, "u7", fmt.Sprintf(`{"id":%q,"participants":{"remove":[%q,%q]}}`, cid, b.id, d.id), `"deleted":true`)
	bs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"l2"}}`, `{"response":{"id":"l2","error":{"status":404,"message":"Conversation not found."}}}`)

	// Private chats allow field changes only.
	got = as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"p"}}`, b.id),
		`{"response":{"id":"p","conversation":{"...":true,"_id":"<string>"}}}`)
	pid := str(t, got, "response.conversation._id")
	upd(as, "u8", fmt.Sprintf(`{"id":%q,"participants":{"add":[%q]}}`, pid, c.id), `"error":{"status":403,"message":"Forbidden."}`)
}
