package gateway_test

import (
	"fmt"
	"testing"
)

// TestMessageEditDelete: edits and deletes are scoped to the conversation
// and the author (group owner may delete for all); "myself" hides for the
// caller only; every member sees the events exactly once.
func TestMessageEditDelete(t *testing.T) {
	n := startNode(t, nil)
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	as, bs, cs := n.connected(t, a, "d"), n.connected(t, b, "d"), n.connected(t, c, "d")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q]},"id":"g"}}`, b.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)
	sendAs := func(cl *client, body string) string {
		got := cl.roundTrip(fmt.Sprintf(`{"message":{"id":%q,"cid":%q,"body":%q}}`, body, cid, body), `{"ask":{"...":true}}`)
		return str(t, got, "ask.server_mid")
	}
	m1 := sendAs(as, "from alice")
	bs.expect(`{"message":{"...":true}}`)
	m2 := sendAs(bs, "from bob")
	as.expect(`{"message":{"...":true}}`)

	steps := []struct {
		name string
		cl   *client
		send string
		want string
	}{
		{"edit someone else's", as, `{"request":{"message_edit":{"id":"` + m2 + `","body":"x"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":403,"message":"Forbidden."}}}`},
		{"edit from outside", cs, `{"request":{"message_edit":{"id":"` + m1 + `","body":"x"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Message ID not found.","errors":{"id":["Message ID not found."]}}}}`},
		{"edit unknown", as, `{"request":{"message_edit":{"id":"nope","body":"x"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Message ID not found.","errors":{"id":["Message ID not found."]}}}}`},
		{"edit without id", as, `{"request":{"message_edit":{"body":"x"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Message ID not found.","errors":{"id":["Message ID not found."]}}}}`},
		{"edit empty body", as, `{"request":{"message_edit":{"id":"` + m1 + `","body":""},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Either message body or attachments required.","errors":{"body":["Either message body or attachments required."],"attachments":["Either message body or attachments required."]}}}}`},
		{"delete no type", as, `{"request":{"message_delete":{"cid":"` + cid + `","ids":["` + m1 + `"]},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Message type missed.","errors":{"type":["Message type missed."]}}}}`},
		{"delete bad type before lookup", as, `{"request":{"message_delete":{"cid":"bogus","ids":["x"],"type":"some"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"The type you entered is incorrect.","errors":{"type":["The type you entered is incorrect."]}}}}`},
		{"delete no ids", as, `{"request":{"message_delete":{"cid":"` + cid + `","ids":[],"type":"all"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"Message ID missed.","errors":{"id":["Message ID missed."]}}}}`},
		{"delete unknown conversation", as, `{"request":{"message_delete":{"cid":"abs","ids":["x"],"type":"all"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":404,"message":"Conversation not found."}}}`},
		{"delete from outside", cs, `{"request":{"message_delete":{"cid":"` + cid + `","ids":["` + m1 + `"],"type":"all"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":403,"message":"Forbidden."}}}`},
		{"member deletes another's for all", bs, `{"request":{"message_delete":{"cid":"` + cid + `","ids":["` + m1 + `"],"type":"all"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":403,"message":"Forbidden."}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.cl.t = t
			s.cl.roundTrip(s.send, s.want)
		})
	}
	as.t, bs.t, cs.t = t, t, t

	as.roundTrip(`{"request":{"message_edit":{"id":"`+m1+`","body":"edited"},"id":"ed"}}`, `{"response":{"id":"ed","success":true}}`)
	bs.expect(fmt.Sprintf(`{"message_edit":{"id":%q,"cid":%q,"c_type":"g","from":%q,"body":"edited","eid":"<string>"}}`, m1, cid, a.id))
	bs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`","ids":["`+m1+`"]},"id":"l"}}`, `{"response":{"id":"l","messages":[{"...":true,"body":"edited"}]}}`)

	bs.roundTrip(`{"request":{"message_delete":{"cid":"`+cid+`","ids":["`+m1+`"],"type":"myself"},"id":"my"}}`, `{"response":{"id":"my","success":true}}`)
	bs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"l2"}}`, `{"response":{"id":"l2","messages":[{"...":true,"body":"from bob"}]}}`)
	as.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"l3"}}`, `{"response":{"id":"l3","messages":[{"...":true},{"...":true}]}}`)
	as.quiet("myself") // hiding for oneself tells nobody

	// The group owner may delete bob's message for everyone.
	as.roundTrip(`{"request":{"message_delete":{"cid":"`+cid+`","ids":["`+m2+`"],"type":"all"},"id":"all"}}`, `{"response":{"id":"all","success":true}}`)
	bs.expect(fmt.Sprintf(`{"message_delete":{"ids":[%q],"cid":%q,"c_type":"g","from":%q,"type":"all","eid":"<string>"}}`, m2, cid, a.id))
	bs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"l4"}}`, `{"response":{"id":"l4","messages":[]}}`)
}
