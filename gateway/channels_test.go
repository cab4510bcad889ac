package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/app"
)

// updated is the pattern of the conversation_updated event of channel cid.
func updated(cid string) string {
	return fmt.Sprintf(`{"system_message":{"...":true,"cid":%q,"x":{"conversation_updated":{"...":true,"_id":%q,"type":"c"}}}}`, cid, cid)
}

// TestChannelSAMAScenario is SAMA's own channel scenario (conversations.spec.js,
// "Channels") as a transcript: create, subscribe, admins, unsubscribe, who
// may post, read marks, search by a non-member, get_admins_by_cids and
// subscribers_count.
func TestChannelSAMAScenario(t *testing.T) {
	n := startNode(t, nil)
	u1, u2, u3, u4 := n.signUp(t, "user_1"), n.signUp(t, "user_2"), n.signUp(t, "user_3"), n.signUp(t, "user_4")
	c1, c2, c3, c4 := n.connected(t, u1, "d"), n.connected(t, u2, "d"), n.connected(t, u3, "d"), n.connected(t, u4, "d")

	got := c1.roundTrip(`{"request":{"conversation_create":{"name":"Breaking News From User_1","description":"for admin and users","type":"c"},"id":"6_1"}}`,
		fmt.Sprintf(`{"response":{"id":"6_1","conversation":{"_id":"<string>","name":"Breaking News From User_1","description":"for admin and users","type":"c","owner_id":%q,"created_at":"<string>","updated_at":"<string>","unread_messages_count":0,"subscribers_count":1}}}`, u1.id))
	cid := str(t, got, "response.conversation._id")
	members := func(c *client, n int) {
		t.Helper()
		c.roundTrip(fmt.Sprintf(`{"request":{"get_participants_by_cids":{"cids":[%q]},"id":"gp"}}`, cid),
			fmt.Sprintf(`{"response":{"id":"gp","users":"<any>","conversations":{%q:[%s]}}}`, cid, strings.TrimSuffix(strings.Repeat(`"<string>",`, n), ",")))
	}

	c2.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"6_2"}}`, cid), `{"response":{"id":"6_2","success":true}}`)
	members(c2, 2)

	c1.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"admins":{"add":[%q,%q]}},"id":"6_4"}}`, cid, u2.id, u3.id),
		fmt.Sprintf(`{"response":{"id":"6_4","conversation":{"...":true,"_id":%q,"type":"c","subscribers_count":3}}}`, cid))
	c2.expect(updated(cid))
	c3.expect(updated(cid)) // made an admin, so subscribed (SAMA)
	c1.roundTrip(fmt.Sprintf(`{"request":{"get_admins_by_cids":{"cids":[%q]},"id":"ga"}}`, cid),
		fmt.Sprintf(`{"response":{"id":"ga","users":[%s,%s,%s],"conversations":{%q:["<string>","<string>","<string>"]}}}`, userPattern, userPattern, userPattern, cid))

	c2.roundTrip(fmt.Sprintf(`{"request":{"conversation_unsubscribe":{"cid":%q},"id":"6_3"}}`, cid), `{"response":{"id":"6_3","success":true}}`)
	members(c1, 2)
	c4.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"6_2"}}`, cid), `{"response":{"id":"6_2","success":true}}`)
	members(c4, 3)

	// A subscriber may not change admins nor post.
	c4.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"admins":{"remove":[%q]}},"id":"6_2"}}`, cid, u3.id),
		`{"response":{"id":"6_2","error":{"status":403,"message":"Forbidden."}}}`)
	c4.roundTrip(fmt.Sprintf(`{"message":{"id":"xyz","body":"hey how is going?","cid":%q,"x":{"param1":"value","param2":"value"}}}`, cid),
		`{"message":{"id":"xyz","error":{"status":403,"message":"Forbidden."}}}`)

	got = c1.roundTrip(fmt.Sprintf(`{"message":{"id":"xyz","body":"hey how is going?","cid":%q,"x":{"param1":"value","param2":"value"}}}`, cid),
		`{"ask":{"mid":"xyz","server_mid":"<string>","t":"<number>","modified":null,"bot_message":null}}`)
	mid := str(t, got, "ask.server_mid")
	post := fmt.Sprintf(`{"message":{"_id":%q,"eid":%q,"cid":%q,"c_type":"c","from":%q,"t":"<number>","body":"hey how is going?","x":{"param1":"value","param2":"value"},"created_at":"<string>","updated_at":"<string>"}}`, mid, mid, cid, u1.id)
	c3.expect(post)
	c4.expect(post)

	// An admin may not mark a channel read (SAMA's top-level form).
	c3.roundTrip(fmt.Sprintf(`{"message_read":{"cid":%q,"ids":[%q]},"id":"123"}`, cid, mid),
		`{"message_read":{"...":true,"error":{"status":403,"message":"Forbidden."}}}`)

	c3.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"admins":{"remove":[%q]}},"id":"6_6"}}`, cid, u3.id),
		fmt.Sprintf(`{"response":{"id":"6_6","conversation":{"...":true,"_id":%q,"subscribers_count":3}}}`, cid))
	c1.expect(updated(cid))
	c4.expect(updated(cid))
	members(c3, 3)
	c3.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"name":"My Channel"},"id":"6_2"}}`, cid),
		`{"response":{"id":"6_2","error":{"status":403,"message":"Forbidden."}}}`)

	// A non-member finds the channel by name, case-insensitively.
	c2.roundTrip(`{"request":{"conversation_search":{"name":"breaking news"},"id":"5_1"}}`,
		fmt.Sprintf(`{"response":{"id":"5_1","conversations":[%q]}}`, cid))

	c1.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"admins":{"add":[%q]}},"id":"6_4"}}`, cid, u4.id),
		fmt.Sprintf(`{"response":{"id":"6_4","conversation":{"...":true,"_id":%q}}}`, cid))
	c3.expect(updated(cid))
	c4.expect(updated(cid))
	got = c1.roundTrip(fmt.Sprintf(`{"request":{"get_admins_by_cids":{"cids":[%q,%q]},"id":"6_7"}}`, cid, u4.id),
		fmt.Sprintf(`{"response":{"id":"6_7","users":[%s,%s],"conversations":{%q:["<string>","<string>"]}}}`, userPattern, userPattern, cid))
	admins := fmt.Sprint(got["response"].(map[string]any)["conversations"].(map[string]any)[cid])
	if want := fmt.Sprint([]any{max(u1.id, u4.id), min(u1.id, u4.id)}); admins != want {
		t.Fatalf("admins %s, want the owner and user_4, id descending: %s", admins, want)
	}
	c3.roundTrip(fmt.Sprintf(`{"request":{"get_admins_by_cids":{"cids":[%q]},"id":"6_7"}}`, cid), `{"response":{"id":"6_7","users":[],"conversations":{}}}`)
	c3.roundTrip(fmt.Sprintf(`{"request":{"conversation_list":{"ids":[%q]},"id":"3_1"}}`, cid),
		fmt.Sprintf(`{"response":{"id":"3_1","conversations":[{"...":true,"_id":%q,"subscribers_count":3,"last_message":{"...":true,"_id":%q}}]}}`, cid, mid))
	for i, c := range []*client{c1, c2, c3, c4} {
		c.quiet(fmt.Sprint("end", i))
	}
}

// TestChannelPermissions: subscribers read but neither post, edit, type nor
// mark read; non-subscribers read nothing; another organization's users
// neither subscribe nor find the channel.
func TestChannelPermissions(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.HTTP.AdminAPIKey = "k" })
	owner, admin, sub, out := n.signUp(t, "owner"), n.signUp(t, "admin"), n.signUp(t, "sub"), n.signUp(t, "outsider")
	co, ca, cs, cx := n.connected(t, owner, "d"), n.connected(t, admin, "d"), n.connected(t, sub, "d"), n.connected(t, out, "d")
	got := co.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"c","name":"News","participants":[%q]},"id":"c"}}`, admin.id),
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>","type":"c","subscribers_count":2}}}`)
	cid := str(t, got, "response.conversation._id")
	ca.expect(`{"system_message":{"...":true,"x":{"conversation_created":{"...":true,"type":"c"}}}}`)
	co.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"admins":{"add":[%q]}},"id":"u"}}`, cid, admin.id), `{"response":{"id":"u","conversation":{"...":true}}}`)
	ca.expect(updated(cid))
	cs.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"s"}}`, cid), `{"response":{"id":"s","success":true}}`)
	cs.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"s2"}}`, cid), `{"response":{"id":"s2","success":true}}`) // again: no-op

	got = ca.roundTrip(fmt.Sprintf(`{"message":{"id":"a1","cid":%q,"body":"by the admin"}}`, cid), `{"ask":{"...":true,"mid":"a1"}}`)
	amid := str(t, got, "ask.server_mid")
	co.expect(`{"message":{"...":true,"body":"by the admin"}}`)
	cs.expect(`{"message":{"...":true,"body":"by the admin"}}`)
	ca.roundTrip(fmt.Sprintf(`{"request":{"message_edit":{"id":%q,"body":"edited"},"id":"e"}}`, amid), `{"response":{"id":"e","success":true}}`)
	co.expect(`{"message_edit":{"...":true,"body":"edited"}}`)
	cs.expect(`{"message_edit":{"...":true,"body":"edited"}}`)
	// Demoted, the admin is a subscriber: their own post is no longer theirs to edit.
	co.roundTrip(fmt.Sprintf(`{"request":{"conversation_update":{"id":%q,"admins":{"remove":[%q]}},"id":"u2"}}`, cid, admin.id), `{"response":{"id":"u2","conversation":{"...":true}}}`)
	ca.expect(updated(cid))
	cs.expect(updated(cid))

	forbidden := func(id string) string {
		return `{"response":{"id":"` + id + `","error":{"status":403,"message":"Forbidden."}}}`
	}
	steps := []struct {
		name string
		c    *client
		send string
		want string
	}{
		{"subscriber posts", cs, `{"message":{"id":"x","cid":"` + cid + `","body":"hi"}}`, `{"message":{"id":"x","error":{"status":403,"message":"Forbidden."}}}`},
		{"demoted admin posts", ca, `{"message":{"id":"x","cid":"` + cid + `","body":"hi"}}`, `{"message":{"id":"x","error":{"status":403,"message":"Forbidden."}}}`},
		{"demoted admin edits own post", ca, `{"request":{"message_edit":{"id":"` + amid + `","body":"again"},"id":"e"}}`, forbidden("e")},
		{"subscriber edits another's post", cs, `{"request":{"message_edit":{"id":"` + amid + `","body":"mine"},"id":"e"}}`, forbidden("e")},
		{"subscriber deletes for all", cs, `{"request":{"message_delete":{"cid":"` + cid + `","ids":["` + amid + `"],"type":"all"},"id":"d"}}`, forbidden("d")},
		{"subscriber types", cs, `{"typing":{"cid":"` + cid + `"}}`, `{"typing":{"error":{"status":403,"message":"Forbidden."}}}`},
		{"subscriber marks read", cs, `{"request":{"message_read":{"cid":"` + cid + `"},"id":"r"}}`, forbidden("r")},
		{"subscriber system message", cs, `{"system_message":{"id":"sm","cid":"` + cid + `","x":{"a":1}}}`, `{"system_message":{"...":true,"error":{"status":403,"message":"Forbidden."}}}`},
		{"subscriber updates", cs, `{"request":{"conversation_update":{"id":"` + cid + `","name":"Mine"},"id":"u"}}`, forbidden("u")},
		{"subscriber reads", cs, `{"request":{"message_list":{"cid":"` + cid + `"},"id":"l"}}`, `{"response":{"id":"l","messages":[{"...":true,"_id":"` + amid + `","body":"edited"}]}}`},
		{"outsider reads", cx, `{"request":{"message_list":{"cid":"` + cid + `"},"id":"l"}}`, forbidden("l")},
		{"outsider participants", cx, `{"request":{"get_participants_by_cids":{"cids":["` + cid + `"]},"id":"p"}}`, `{"response":{"id":"p","users":[],"conversations":{}}}`},
		{"outsider unsubscribes", cx, `{"request":{"conversation_unsubscribe":{"cid":"` + cid + `"},"id":"un"}}`, `{"response":{"id":"un","success":true}}`},
		{"subscriber lists admins", cs, `{"request":{"get_admins_by_cids":{"cids":["` + cid + `"]},"id":"ga"}}`, `{"response":{"id":"ga","users":[],"conversations":{}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.c.t = t
			s.c.roundTrip(s.send, s.want)
		})
	}
	for _, c := range []*client{co, ca, cs, cx} {
		c.t = t
	}

	// Another organization: its user gets 400 on subscribe, and its search
	// does not find the channel.
	_, other := otherOrgUser(t, n, "k", "owner")
	other.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"s"}}`, cid), `{"response":{"id":"s","error":{"status":400,"message":"Bad Request."}}}`)
	other.roundTrip(`{"request":{"conversation_search":{"name":"news"},"id":"q"}}`, `{"response":{"id":"q","conversations":[]}}`)
	other.roundTrip(fmt.Sprintf(`{"request":{"message_list":{"cid":%q},"id":"l"}}`, cid), `{"response":{"id":"l","error":{"status":404,"message":"Conversation not found."}}}`)
	other.roundTrip(fmt.Sprintf(`{"request":{"get_admins_by_cids":{"cids":[%q]},"id":"ga"}}`, cid), `{"response":{"id":"ga","users":[],"conversations":{}}}`)
	for i, c := range []*client{co, ca, cs, cx} {
		c.quiet(fmt.Sprint("end", i))
	}
}

// TestChannelErrors: the answers to malformed and misdirected channel
// requests.
func TestChannelErrors(t *testing.T) {
	n := startNode(t, nil)
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	c := n.connected(t, a, "d")
	got := c.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q]},"id":"g"}}`, b.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>"}}}`)
	gid := str(t, got, "response.conversation._id")
	steps := []struct{ name, send, want string }{
		{"channel without name", `{"request":{"conversation_create":{"type":"c"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":422,"message":"You haven't specified a conversation name.","errors":{"name":["You haven't specified a conversation name."]}}}}`},
		{"subscribe without cid", `{"request":{"conversation_subscribe":{},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'cid' field is required."}}}`},
		{"unsubscribe without cid", `{"request":{"conversation_unsubscribe":{},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'cid' field is required."}}}`},
		{"subscribe unknown", `{"request":{"conversation_subscribe":{"cid":"nope"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":400,"message":"Bad Request."}}}`},
		{"subscribe to a group", `{"request":{"conversation_subscribe":{"cid":"` + gid + `"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":400,"message":"Bad Request."}}}`},
		{"unsubscribe from a group", `{"request":{"conversation_unsubscribe":{"cid":"` + gid + `"},"id":"e"}}`, `{"response":{"id":"e","error":{"status":400,"message":"Bad Request."}}}`},
		{"subscribe mistyped cid", `{"request":{"conversation_subscribe":{"cid":{"a":1}},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422}}}`},
		{"admins without cids", `{"request":{"get_admins_by_cids":{},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'cids' field is required."}}}`},
		{"admins of too many", `{"request":{"get_admins_by_cids":{"cids":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 101), ",") + `]},"id":"e"}}`, `{"response":{"id":"e","error":{"...":true,"status":422,"message":"'cids' max length 100"}}}`},
		{"admins of a group", `{"request":{"get_admins_by_cids":{"cids":["` + gid + `"]},"id":"e"}}`, `{"response":{"id":"e","users":[` + userPattern + `],"conversations":{"` + gid + `":["` + a.id + `"]}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			c.roundTrip(s.send, s.want)
		})
	}
}

// TestChannelNoGroupLimitAndCatchUp: the group limit does not bound a
// channel's subscribers, and a subscriber who was offline gets the posts
// from the event log (exactly those made since they subscribed).
func TestChannelNoGroupLimitAndCatchUp(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Chat.MaxParticipants = 2 })
	owner := n.signUp(t, "owner")
	co := n.connected(t, owner, "d")
	var subs []account
	for i := range 4 {
		subs = append(subs, n.signUp(t, fmt.Sprint("sub", i)))
	}
	co.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"big","participants":[%q,%q,%q]},"id":"g"}}`, subs[0].id, subs[1].id, subs[2].id),
		`{"response":{"id":"g","error":{"status":422,"message":"There are too many users in the group conversation.","errors":"<any>"}}}`)
	got := co.roundTrip(`{"request":{"conversation_create":{"type":"c","name":"big news"},"id":"c"}}`,
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>","subscribers_count":1}}}`)
	cid := str(t, got, "response.conversation._id")
	for i, s := range subs {
		c := n.connected(t, s, "d")
		c.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"s%d"}}`, cid, i), fmt.Sprintf(`{"response":{"id":"s%d","success":true}}`, i))
		_ = c.c.Close(1000, "")
	}
	co.roundTrip(fmt.Sprintf(`{"request":{"conversation_list":{"ids":[%q]},"id":"l"}}`, cid),
		fmt.Sprintf(`{"response":{"id":"l","conversations":[{"...":true,"_id":%q,"subscribers_count":5}]}}`, cid))
	var mids []string
	for i := range 2 {
		got := co.roundTrip(fmt.Sprintf(`{"message":{"id":"p%d","cid":%q,"body":"post %d"}}`, i, cid, i), `{"ask":{"...":true,"server_mid":"<string>"}}`)
		mids = append(mids, str(t, got, "ask.server_mid"))
	}
	back := n.connected(t, subs[3], "d")
	got = back.roundTrip(`{"request":{"op_log_list":{"created_at":{"lt":"`+time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)+`"}},"id":"ol"}}`,
		`{"response":{"id":"ol","logs":[{"...":true},{"...":true}]}}`)
	for i, l := range got["response"].(map[string]any)["logs"].([]any) {
		m := l.(map[string]any)["packet"].(map[string]any)["message"].(map[string]any)
		if m["_id"] != mids[i] || m["c_type"] != "c" {
			t.Fatalf("log %d: %v, want post %s", i, m, mids[i])
		}
	}
	back.roundTrip(fmt.Sprintf(`{"request":{"message_list":{"cid":%q},"id":"ml"}}`, cid),
		fmt.Sprintf(`{"response":{"id":"ml","messages":[{"...":true,"_id":%q},{"...":true,"_id":%q}]}}`, mids[1], mids[0]))
}

// TestChannelReactionsSilent: a subscriber's reaction to a channel post is
// stored and listed, but announced to nobody (SAMA): with many subscribers
// every reaction would otherwise reach every device.
func TestChannelReactionsSilent(t *testing.T) {
	n := startNode(t, nil)
	owner, sub := n.signUp(t, "owner"), n.signUp(t, "sub")
	o, s := n.connected(t, owner, "d"), n.connected(t, sub, "d")
	got := o.roundTrip(`{"request":{"conversation_create":{"name":"news","type":"c"},"id":"c"}}`,
		`{"response":{"id":"c","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	s.roundTrip(fmt.Sprintf(`{"request":{"conversation_subscribe":{"cid":%q},"id":"s"}}`, cid), `{"response":{"id":"s","success":true}}`)
	got = o.roundTrip(fmt.Sprintf(`{"message":{"id":"p1","cid":%q,"body":"post"}}`, cid), `{"ask":{"...":true,"mid":"p1"}}`)
	mid := str(t, got, "ask.server_mid")
	s.expect(`{"message":{"...":true,"body":"post"}}`)

	s.roundTrip(fmt.Sprintf(`{"request":{"message_reactions_update":{"mid":%q,"add":"+1"},"id":"r"}}`, mid), `{"response":{"id":"r","success":true}}`)
	o.roundTrip(fmt.Sprintf(`{"request":{"message_reactions_list":{"mid":%q},"id":"l"}}`, mid),
		fmt.Sprintf(`{"response":{"id":"l","reactions":{"+1":[%q]}}}`, sub.id))
	o.quiet("a subscriber's reaction")
}
