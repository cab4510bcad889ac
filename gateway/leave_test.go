package gateway_test

import (
	"fmt"
	"testing"
)

// TestLeaveAndSearchConversations: leaving, the last one out deleting, the
// 1-1 chat restored when re-created, and search over own conversations only.
func TestLeaveAndSearchConversations(t *testing.T) {
	n := startNode(t, nil)
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	as, bs, cs := n.connected(t, a, "d"), n.connected(t, b, "d"), n.connected(t, c, "d")
	create := func(cl *client, body string) string {
		got := cl.roundTrip(`{"request":{"conversation_create":`+body+`,"id":"cc"}}`, `{"response":{"id":"cc","conversation":{"...":true,"_id":"<string>"}}}`)
		return str(t, got, "response.conversation._id")
	}
	u := create(as, fmt.Sprintf(`{"type":"u","participants":[%q]}`, b.id))
	g := create(as, fmt.Sprintf(`{"type":"g","name":"Chat_1 team","participants":[%q]}`, b.id))
	create(cs, fmt.Sprintf(`{"type":"g","name":"chat_1 secret","participants":[%q]}`, b.id))
	for range 3 { // bob is in all three
		bs.expect(`{"system_message":{"...":true}}`)
	}

	as.roundTrip(`{"request":{"conversation_search":{"name":"CHAT_1"},"id":"s"}}`, fmt.Sprintf(`{"response":{"id":"s","conversations":[%q]}}`, g))
	as.roundTrip(`{"request":{"conversation_search":{"name":".*"},"id":"s2"}}`, `{"response":{"id":"s2","conversations":[]}}`)
	as.roundTrip(`{"request":{"conversation_search":{},"id":"s3"}}`, `{"response":{"id":"s3","error":{"...":true,"status":422,"message":"'name' field is required."}}}`)

	as.roundTrip(`{"request":{"conversation_delete":{"id":"bogus"},"id":"d0"}}`, `{"response":{"id":"d0","error":{"status":400,"message":"Bad Request."}}}`)
	cs.roundTrip(`{"request":{"conversation_delete":{"id":"`+g+`"},"id":"d1"}}`, `{"response":{"id":"d1","error":{"status":404,"message":"ConversationParticipant not found."}}}`)
	as.roundTrip(`{"request":{"conversation_delete":{"id":"`+g+`"},"id":"d2"}}`, `{"response":{"id":"d2","success":true}}`)
	as.roundTrip(`{"request":{"message_list":{"cid":"`+g+`"},"id":"l"}}`, `{"response":{"id":"l","error":{"status":403,"message":"Forbidden."}}}`)
	bs.expect(fmt.Sprintf(`{"message":{"...":true,"body":"alice has left the conversation","x":{"type":"left_participants","user":{"_id":%q,"native_id":%q,"login":"alice"}}}}`, a.id, a.id))
	bs.roundTrip(`{"request":{"conversation_delete":{"id":"`+g+`"},"id":"d3"}}`, `{"response":{"id":"d3","success":true}}`)
	bs.roundTrip(`{"request":{"message_list":{"cid":"`+g+`"},"id":"l2"}}`, `{"response":{"id":"l2","error":{"status":404,"message":"Conversation not found."}}}`)

	// A 1-1 chat left by one side comes back, same id, when re-created.
	as.roundTrip(`{"request":{"conversation_delete":{"id":"`+u+`"},"id":"d4"}}`, `{"response":{"id":"d4","success":true}}`)
	bs.expect(`{"message":{"...":true,"body":"alice has left the conversation"}}`)
	if again := create(bs, fmt.Sprintf(`{"type":"u","participants":[%q]}`, a.id)); again != u {
		t.Fatalf("re-created 1-1: got %s, want the same %s", again, u)
	}
	as.roundTrip(`{"request":{"message_list":{"cid":"`+u+`"},"id":"l3"}}`, `{"response":{"id":"l3","messages":[{"...":true,"body":"alice has left the conversation"}]}}`)
}
