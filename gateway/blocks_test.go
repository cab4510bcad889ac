package gateway_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/samagate/samagate/app"
)

// TestBlockList: block_user, unblock_user, list_blocked_users and
// block_list_enable with every error; a blocked pair (either way) can
// neither send into their private chat, type in it, nor create it again,
// while their group keeps flowing; a list turned off blocks nothing until
// turned on; ids of another organization are left out of the list.
func TestBlockList(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.HTTP.AdminAPIKey = "k" })
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	as, bs, cs := n.connected(t, a, "d"), n.connected(t, b, "d"), n.connected(t, c, "d")
	eve, _ := otherOrgUser(t, n, "k", "eve")

	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"u"}}`, b.id),
		`{"response":{"id":"u","conversation":{"...":true,"_id":"<string>"}}}`)
	private := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)
	got = as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q,%q]},"id":"g"}}`, b.id, c.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>"}}}`)
	group := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)
	cs.expect(`{"system_message":{"...":true}}`)

	req := func(method, id, params string) string {
		return `{"request":{"` + method + `":` + params + `,"id":"` + id + `"}}`
	}
	missed := err422("e", "id", "User ID missed.")
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprint("u", i))
	}
	errs := []struct{ name, send, want string }{
		{"block without ids", req("block_user", "e", `{}`), missed},
		{"block empty list", req("block_user", "e", `{"ids":[]}`), missed},
		{"block empty id", req("block_user", "e", `{"ids":[""]}`), missed},
		{"block object ids", req("block_user", "e", `{"ids":{}}`), missed},
		{"block list of objects", req("block_user", "e", `{"ids":[{}]}`), missed},
		{"block too many", req("block_user", "e", `{"ids":[`+strings.Join(many, ",")+`]}`), err422("e", "ids", "'ids' max length 100")},
		{"block self", req("block_user", "e", `{"ids":["`+a.id+`"]}`), err422("e", "ids", "Can't block self user.")},
		{"unblock without ids", req("unblock_user", "e", `{}`), missed},
		{"unblock empty id", req("unblock_user", "e", `{"ids":[""]}`), missed},
		{"unblock too many", req("unblock_user", "e", `{"ids":[`+strings.Join(many, ",")+`]}`), err422("e", "ids", "'ids' max length 100")},
		{"enable missing", req("block_list_enable", "e", `{}`), `{"response":{"id":"e","error":{"status":422,"message":"'enable' field is required.","errors":{"enable":["is required"]}}}}`},
		{"enable not a bool", req("block_list_enable", "e", `{"enable":"yes"}`), err422("e", "enable", "'enable' has an incorrect type.")},
	}
	for _, s := range errs {
		t.Run(s.name, func(t *testing.T) {
			as.t = t
			as.roundTrip(s.send, s.want)
		})
	}
	as.t = t
	unauth := n.dial(t)
	for _, m := range []string{"block_user", "unblock_user", "list_blocked_users", "block_list_enable"} {
		unauth.roundTrip(req(m, "u", `{"ids":["x"],"enable":true}`), `{"response":{"id":"u","error":{"status":401,"message":"Unauthorized."}}}`)
	}

	blocked := `{"status":422,"message":"Communication is not possible - you are in a block list of the recipient.","errors":{"cid":["Communication is not possible - you are in a block list of the recipient."]}}`
	sendOK := func(from, to *client, cid, body string) {
		t.Helper()
		from.roundTrip(fmt.Sprintf(`{"message":{"id":%q,"cid":%q,"body":%q}}`, body, cid, body), `{"ask":{"...":true}}`)
		to.expect(fmt.Sprintf(`{"message":{"...":true,"body":%q}}`, body))
	}
	sendBlocked := func(from *client, cid, id string) {
		t.Helper()
		from.roundTrip(fmt.Sprintf(`{"message":{"id":%q,"cid":%q,"body":"x"}}`, id, cid), fmt.Sprintf(`{"message":{"id":%q,"error":%s}}`, id, blocked))
	}
	sendOK(bs, as, private, "before")
	as.roundTrip(req("list_blocked_users", "l0", `{}`), `{"response":{"id":"l0","users":[]}}`)

	// alice blocks bob (an unknown id and another organization's user are left out).
	as.roundTrip(req("block_user", "b1", fmt.Sprintf(`{"ids":[%q,"nobody",%q]}`, b.id, eve.id)), `{"response":{"id":"b1","success":true}}`)
	as.roundTrip(req("block_user", "b2", fmt.Sprintf(`{"ids":[%q]}`, b.id)), `{"response":{"id":"b2","success":true}}`) // again
	as.roundTrip(req("list_blocked_users", "l1", `{}`), fmt.Sprintf(`{"response":{"id":"l1","users":[%q]}}`, b.id))
	sendBlocked(bs, private, "b-blocked") // the blocked one
	sendBlocked(as, private, "a-blocked") // and the blocker
	bs.roundTrip(fmt.Sprintf(`{"typing":{"cid":%q}}`, private), `{"typing":{"error":`+blocked+`}}`)
	for _, cl := range []*client{as, bs} {
		other := b.id
		if cl == bs {
			other = a.id
		}
		cl.roundTrip(req("conversation_create", "cc", fmt.Sprintf(`{"type":"u","participants":[%q]}`, other)),
			`{"response":{"id":"cc","error":`+blocked+`}}`)
	}
	// The group still flows, both ways.
	sendOK(bs, as, group, "group from bob")
	cs.expect(`{"message":{"...":true,"body":"group from bob"}}`)
	sendOK(as, bs, group, "group from alice")
	cs.expect(`{"message":{"...":true,"body":"group from alice"}}`)
	as.quiet("no leak")
	bs.quiet("no leak")

	// Turned off, alice's list blocks nothing; on again, it does.
	as.roundTrip(req("block_list_enable", "off", `{"enable":false}`), `{"response":{"id":"off","success":true}}`)
	sendOK(bs, as, private, "while off")
	as.roundTrip(req("list_blocked_users", "l2", `{}`), fmt.Sprintf(`{"response":{"id":"l2","users":[%q]}}`, b.id)) // kept
	as.roundTrip(req("block_list_enable", "on", `{"enable":true}`), `{"response":{"id":"on","success":true}}`)
	sendBlocked(bs, private, "on again")

	// Unblocked (SAMA's older {id} form), they talk again.
	as.roundTrip(req("unblock_user", "ub", fmt.Sprintf(`{"id":%q}`, b.id)), `{"response":{"id":"ub","success":true}}`)
	as.roundTrip(req("list_blocked_users", "l3", `{}`), `{"response":{"id":"l3","users":[]}}`)
	sendOK(bs, as, private, "after unblock")
	as.roundTrip(req("conversation_create", "cc2", fmt.Sprintf(`{"type":"u","participants":[%q]}`, b.id)),
		fmt.Sprintf(`{"response":{"id":"cc2","conversation":{"...":true,"_id":%q}}}`, private))

	// A block by the other side counts the same.
	bs.roundTrip(req("block_user", "bb", fmt.Sprintf(`{"ids":[%q]}`, a.id)), `{"response":{"id":"bb","success":true}}`)
	sendBlocked(as, private, "blocked by bob")
	raw, _ := json.Marshal(a.id)
	bs.roundTrip(req("unblock_user", "ubb", `{"ids":[`+string(raw)+`]}`), `{"response":{"id":"ubb","success":true}}`)
	sendOK(as, bs, private, "friends again")
}

// TestClusterBlock: a block made on one node stops the very next message
// of the pair's private chat sent through another node, whose membership
// cache is warm (the commit checks the block list), and an unblock there
// lets it through again.
func TestClusterBlock(t *testing.T) {
	ns := startCluster(t, 2, nil)
	n1, n2 := ns[0], ns[1]
	a, b := n1.signUp(t, "alice"), n2.signUp(t, "bob")
	a1, b2 := n1.connected(t, a, "web"), n2.connected(t, b, "web")
	got := a1.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"u"}}`, b.id),
		`{"response":{"id":"u","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	b2.expect(`{"system_message":{"...":true}}`)
	b2.roundTrip(`{"message":{"id":"warm","cid":"`+cid+`","body":"warm"}}`, `{"ask":{"...":true}}`) // node 2 caches the chat
	a1.expect(`{"message":{"...":true,"body":"warm"}}`)

	a1.roundTrip(`{"request":{"block_user":{"ids":["`+b.id+`"]},"id":"b"}}`, `{"response":{"id":"b","success":true}}`)
	b2.roundTrip(`{"message":{"id":"late","cid":"`+cid+`","body":"late"}}`,
		`{"message":{"id":"late","error":{"status":422,"message":"Communication is not possible - you are in a block list of the recipient.","errors":{"cid":["Communication is not possible - you are in a block list of the recipient."]}}}}`)
	a1.roundTrip(`{"request":{"unblock_user":{"ids":["`+b.id+`"]},"id":"ub"}}`, `{"response":{"id":"ub","success":true}}`)
	b2.roundTrip(`{"message":{"id":"again","cid":"`+cid+`","body":"again"}}`, `{"ask":{"...":true}}`)
	a1.expect(`{"message":{"...":true,"body":"again"}}`)
}
