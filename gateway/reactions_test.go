package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/samagate/samagate/app"
)

// otherOrgUser creates an organization through the admin API and a user
// of it, and returns them bound on a socket (the node needs an admin key).
func otherOrgUser(t *testing.T, n *node, key, login string) (account, *client) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, n.base+"/admin/organization", strings.NewReader(`{"name":"Elsewhere"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("admin-api-key", key)
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var org struct {
		Organization struct {
			ID string `json:"_id"`
		} `json:"organization"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&org); err != nil || org.Organization.ID == "" {
		t.Fatalf("create org: %v", err)
	}
	c := n.dial(t)
	got := c.roundTrip(fmt.Sprintf(`{"request":{"user_create":{"login":%q,"password":"secret1","organization_id":%q},"id":"su"}}`, login, org.Organization.ID),
		`{"response":{"id":"su","user":{"...":true,"_id":"<string>"}}}`)
	c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"organization_id":%q,"login":%q,"password":"secret1","device_id":"d"},"id":"l"}}`, org.Organization.ID, login),
		`{"response":{"id":"l","user":{"...":true},"token":"<string>"}}`)
	return account{id: str(t, got, "response.user._id"), login: login, password: "secret1"}, c
}

// err422 is a 422 reply naming field.
func err422(id, field, msg string) string {
	m, _ := json.Marshal(msg)
	return fmt.Sprintf(`{"response":{"id":%q,"error":{"status":422,"message":%s,"errors":{%q:[%s]}}}}`, id, m, field, m)
}

// TestMessageReactions: message_reactions_update and message_reactions_list
// as SAMA's spec walks them (add, add again, remove one never given,
// another member's add and remove), the event to every other socket of the
// members with only what changed, reactions in message_list and
// last_message, every error, and the permission checks: a member of the
// organization outside the conversation and a user of another organization
// learn nothing of the message.
func TestMessageReactions(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.HTTP.AdminAPIKey = "k" })
	a, b, c, d := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol"), n.signUp(t, "dave")
	aTok, _ := n.token(t, a, "laptop")
	as, a2 := n.connectWith(t, aTok, "laptop"), n.connected(t, a, "phone")
	bs, cs, ds := n.connected(t, b, "d"), n.connected(t, c, "d"), n.connected(t, d, "d")
	_, es := otherOrgUser(t, n, "k", "eve")

	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q,%q]},"id":"g"}}`, b.id, c.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	for _, cl := range []*client{a2, bs, cs} {
		cl.expect(`{"system_message":{"...":true}}`)
	}
	first := str(t, as.roundTrip(`{"message":{"id":"m1","cid":"`+cid+`","body":"one"}}`, `{"ask":{"...":true}}`), "ask.server_mid")
	second := str(t, as.roundTrip(`{"message":{"id":"m2","cid":"`+cid+`","body":"two"}}`, `{"ask":{"...":true}}`), "ask.server_mid")
	for _, cl := range []*client{a2, bs, cs} {
		cl.expect(`{"message":{"...":true,"body":"one"}}`)
		cl.expect(`{"message":{"...":true,"body":"two"}}`)
	}
	update := func(id, params string) string {
		return `{"request":{"message_reactions_update":` + params + `,"id":"` + id + `"}}`
	}
	list := func(id, mid string) string {
		return `{"request":{"message_reactions_list":{"mid":"` + mid + `"},"id":"` + id + `"}}`
	}
	notFound := err422("e", "id", "Message ID not found.")
	incorrectID := err422("e", "id", "Incorrect message ID.")
	errs := []struct {
		name     string
		cl       *client
		send     string
		want     string
		negative bool
	}{
		{"update without mid", as, update("e", `{"add":"👍"}`), incorrectID, false},
		{"update numeric mid", as, update("e", `{"mid":5,"add":"👍"}`), incorrectID, false},
		{"update object mid", as, update("e", `{"mid":{},"add":"👍"}`), incorrectID, false},
		{"update neither add nor remove", as, update("e", `{"mid":"`+first+`"}`), err422("e", "add", `"value" must contain at least one of [add, remove]`), false},
		{"add too long", as, update("e", `{"mid":"`+first+`","add":"12345678901"}`), err422("e", "add", `"add" length must be less than or equal to 10 characters long`), false},
		{"remove too long", as, update("e", `{"mid":"`+first+`","remove":"👍👍👍👍👍👍"}`), err422("e", "remove", `"remove" length must be less than or equal to 10 characters long`), false},
		{"add empty", as, update("e", `{"mid":"`+first+`","add":""}`), err422("e", "add", `"add" is not allowed to be empty`), false},
		{"add control character", as, update("e", `{"mid":"`+first+`","add":"a\u0001"}`), err422("e", "add", `"add" must be a valid reaction`), false},
		{"add a number", as, update("e", `{"mid":"`+first+`","add":5}`), err422("e", "add", `'add' has an incorrect type.`), false},
		{"update unknown message", as, update("e", `{"mid":"nope","add":"👍"}`), notFound, false},
		{"update from outside the conversation", ds, update("e", `{"mid":"`+first+`","add":"👍"}`), notFound, false},
		{"update from another organization", es, update("e", `{"mid":"`+first+`","add":"👍"}`), notFound, false},
		{"list without mid", as, `{"request":{"message_reactions_list":{},"id":"e"}}`, incorrectID, false},
		{"list unknown message", as, list("e", "nope"), notFound, false},
		{"list from outside the conversation", ds, list("e", first), notFound, false},
		{"list from another organization", es, list("e", first), notFound, false},
	}
	for _, s := range errs {
		t.Run(s.name, func(t *testing.T) {
			s.cl.t = t
			s.cl.roundTrip(s.send, s.want)
		})
	}
	as.t, ds.t, es.t = t, t, t
	unauth := n.dial(t)
	unauth.roundTrip(update("u", `{"mid":"`+first+`","add":"👍"}`), `{"response":{"id":"u","error":{"status":401,"message":"Unauthorized."}}}`)
	unauth.roundTrip(list("u", first), `{"response":{"id":"u","error":{"status":401,"message":"Unauthorized."}}}`)

	// SAMA's spec, step by step.
	as.roundTrip(list("l0", first), `{"response":{"id":"l0","reactions":{}}}`)
	as.roundTrip(update("r1", `{"mid":"`+first+`","add":"👍"}`), `{"response":{"id":"r1","success":true}}`)
	ev := fmt.Sprintf(`{"message_reactions_update":{"mid":%q,"cid":%q,"c_type":"g","from":%q,"add":"👍","eid":"<string>"}}`, first, cid, a.id)
	for _, cl := range []*client{a2, bs, cs} { // the sender's other device too, not the sending socket
		cl.expect(ev)
	}
	as.roundTrip(list("l1", first), fmt.Sprintf(`{"response":{"id":"l1","reactions":{"👍":[%q]}}}`, a.id))
	as.roundTrip(update("r2", `{"mid":"`+first+`","add":"👍"}`), `{"response":{"id":"r2","success":true}}`)    // again: no change
	as.roundTrip(update("r3", `{"mid":"`+first+`","remove":"🤯"}`), `{"response":{"id":"r3","success":true}}`) // never given
	as.roundTrip(update("r4", `{"mid":"`+first+`","add":"🤯"}`), `{"response":{"id":"r4","success":true}}`)
	bs.expect(fmt.Sprintf(`{"message_reactions_update":{"mid":%q,"cid":%q,"c_type":"g","from":%q,"add":"🤯","eid":"<string>"}}`, first, cid, a.id)) // nothing came before it
	bs.roundTrip(update("r5", `{"mid":"`+first+`","add":"🤯"}`), `{"response":{"id":"r5","success":true}}`)
	as.expect(fmt.Sprintf(`{"message_reactions_update":{"mid":%q,"cid":%q,"c_type":"g","from":%q,"add":"🤯","eid":"<string>"}}`, first, cid, b.id))
	bs.roundTrip(update("r6", `{"mid":"`+first+`","add":"👩‍💻","remove":"🤯"}`), `{"response":{"id":"r6","success":true}}`)
	as.expect(fmt.Sprintf(`{"message_reactions_update":{"mid":%q,"cid":%q,"c_type":"g","from":%q,"add":"👩‍💻","remove":"🤯","eid":"<string>"}}`, first, cid, b.id))
	as.roundTrip(update("r7", `{"mid":"`+first+`","add":"🧲","remove":"🤯"}`), `{"response":{"id":"r7","success":true}}`)
	bs.expect(`{"message_reactions_update":{"...":true,"add":"🧲","remove":"🤯"}}`)
	for _, add := range []string{"🤯", "🤯", "👩‍💻", "🧲"} { // carol saw every change
		cs.expect(`{"message_reactions_update":{"...":true,"add":"` + add + `"}}`)
	}
	bs.roundTrip(list("l2", first), fmt.Sprintf(`{"response":{"id":"l2","reactions":{"👍":[%q],"👩‍💻":[%q],"🧲":[%q]}}}`, a.id, b.id, a.id))

	// message_list and last_message carry the caller's view.
	as.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"ml"}}`,
		fmt.Sprintf(`{"response":{"id":"ml","messages":[{"...":true,"_id":%q,"reactions":{}},{"...":true,"_id":%q,"reactions":{"own":["👍","🧲"],"total":{"👍":1,"👩‍💻":1,"🧲":1}}}]}}`, second, first))
	cs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`","ids":["`+first+`"]},"id":"ml3"}}`,
		`{"response":{"id":"ml3","messages":[{"...":true,"reactions":{"own":[],"total":{"👍":1,"👩‍💻":1,"🧲":1}}}]}}`)
	as.roundTrip(update("r8", `{"mid":"`+second+`","add":"🔥"}`), `{"response":{"id":"r8","success":true}}`)
	bs.expect(`{"message_reactions_update":{"...":true,"add":"🔥"}}`)
	cs.expect(`{"message_reactions_update":{"...":true,"add":"🔥"}}`)
	bs.roundTrip(`{"request":{"conversation_list":{},"id":"cl"}}`,
		`{"response":{"id":"cl","conversations":[{"...":true,"last_message":{"...":true,"reactions":{"own":[],"total":{"🔥":1}}}}]}}`)

	// A message deleted for oneself cannot be reacted to by them.
	cs.roundTrip(`{"request":{"message_delete":{"cid":"`+cid+`","ids":["`+second+`"],"type":"myself"},"id":"hide"}}`, `{"response":{"id":"hide","success":true}}`)
	cs.roundTrip(update("e", `{"mid":"`+second+`","add":"👍"}`), notFound)
	// A deleted message has no reactions to list.
	as.roundTrip(`{"request":{"message_delete":{"cid":"`+cid+`","ids":["`+second+`"],"type":"all"},"id":"del"}}`, `{"response":{"id":"del","success":true}}`)
	as.roundTrip(list("e", second), notFound)

	// At most 20 reactions of one user on one message.
	for i := range 17 { // alice holds 👍 and 🧲 already: 19
		as.roundTrip(update(fmt.Sprint("n", i), fmt.Sprintf(`{"mid":%q,"add":"r%d"}`, first, i)), fmt.Sprintf(`{"response":{"id":"n%d","success":true}}`, i))
	}
	as.roundTrip(update("n20", `{"mid":"`+first+`","add":"last"}`), `{"response":{"id":"n20","success":true}}`)
	as.roundTrip(update("e", `{"mid":"`+first+`","add":"one more"}`), err422("e", "add", "'reactions' max length 20"))
	as.roundTrip(update("swap", `{"mid":"`+first+`","add":"one more","remove":"last"}`), `{"response":{"id":"swap","success":true}}`) // a swap keeps 20
}

// TestReactionCatchUp: a reaction is in the event log like an edit: a
// device that was away gets it on connect {since} and in op_log_list.
func TestReactionCatchUp(t *testing.T) {
	n := startNode(t, nil)
	as, bs, bTok, cid, _ := privateChat(t, n)
	mid := str(t, as.roundTrip(`{"message":{"id":"m","cid":"`+cid+`","body":"hi"}}`, `{"ask":{"...":true}}`), "ask.server_mid")
	got := bs.expect(`{"message":{"...":true,"eid":"<string>"}}`)
	position := str(t, got, "message.eid")
	_ = bs.c.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "bob offline", func() bool { return n.app.Online() == 1 })

	as.roundTrip(`{"request":{"message_reactions_update":{"mid":"`+mid+`","add":"👍"},"id":"r"}}`, `{"response":{"id":"r","success":true}}`)
	as.roundTrip(`{"request":{"message_reactions_update":{"mid":"`+mid+`","remove":"👍","add":"🎉"},"id":"r2"}}`, `{"response":{"id":"r2","success":true}}`)

	bs = n.dial(t)
	bs.send(fmt.Sprintf(`{"request":{"connect":{"token":%q,"device_id":"phone","since":%q},"id":"cn"}}`, bTok, position))
	bs.expect(`{"response":{"id":"cn","success":true}}`)
	bs.expect(fmt.Sprintf(`{"message_reactions_update":{"mid":%q,"cid":%q,"c_type":"u","from":"<string>","add":"👍","eid":"<string>"}}`, mid, cid))
	bs.expect(fmt.Sprintf(`{"message_reactions_update":{"mid":%q,"cid":%q,"c_type":"u","from":"<string>","add":"🎉","remove":"👍","eid":"<string>"}}`, mid, cid))
	bs.expect(`{"catch_up":{"...":true}}`)
	bs.quiet("end")

	got = bs.roundTrip(`{"request":{"op_log_list":{"created_at":{"gt":"2000-01-01T00:00:00.000Z"}},"id":"ol"}}`, `{"response":{"id":"ol","logs":"<any>"}}`)
	var reactions int
	for _, l := range got["response"].(map[string]any)["logs"].([]any) {
		if _, ok := l.(map[string]any)["packet"].(map[string]any)["message_reactions_update"]; ok {
			reactions++
		}
	}
	if reactions != 2 {
		t.Fatalf("op_log_list: %d reaction events, want 2", reactions)
	}
}
