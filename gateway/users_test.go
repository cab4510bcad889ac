package gateway_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestUserEditTranscript(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	n.signUp(t, "bob")
	c := n.connected(t, a, "d")
	steps := []struct{ name, params, want string }{
		{"new password, wrong current", `{"current_password":"nope","new_password":"newpass1"}`, `{"error":{"status":401,"message":"The current password you entered is incorrect."}}`},
		{"new password, no current", `{"new_password":"newpass1"}`, `{"error":{"status":401,"message":"The current password you entered is incorrect."}}`},
		{"login taken", `{"login":"BOB"}`, `{"error":{"status":422,"message":"The provided data is already associated with an existing user account.","errors":{"login":["The provided data is already associated with an existing user account."]}}}`},
		{"email taken", `{"email":"bob@example.com"}`, `{"error":{"status":422,"message":"The provided data is already associated with an existing user account.","errors":{"login":["The provided data is already associated with an existing user account."]}}}`},
		{"short login", `{"login":"x"}`, `{"error":{"...":true,"status":422,"message":"The login provided is incorrect.","errors":{"login":["The login provided is incorrect."]}}}`},
		{"names", `{"first_name":"Alice","last_name":"Liddell"}`, `{"user":{"...":true,"first_name":"Alice","last_name":"Liddell"}}`},
		{"email and phone", `{"email":"a@x.io","phone":"5551234"}`, `{"user":{"...":true,"email":"a@x.io","phone":"5551234"}}`},
		{"login", `{"login":"alice_new"}`, `{"user":{"...":true,"login":"alice_new"}}`},
		{"password", fmt.Sprintf(`{"current_password":%q,"new_password":"newpass1"}`, a.password), `{"user":` + userPattern + `}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.t = t
			want := strings.Replace(s.want, "{", `{"id":"e",`, 1)
			c.roundTrip(`{"request":{"user_edit":`+s.params+`,"id":"e"}}`, `{"response":`+want+`}`)
		})
	}
	c.t = t
	// The new password works, the old one does not.
	a.login, a.password = "alice_new", "newpass1"
	n.token(t, a, "d2")
	status, body, _ := n.httpLogin(t, `{"login":"alice_new","password":"pw-alice","device_id":"d3"}`, nil)
	if status != 401 || body != "Incorrect username or password." {
		t.Fatalf("old password: got %d %q, want 401 Incorrect username or password.", status, body)
	}
}

func TestUserSearchAndGetByIDs(t *testing.T) {
	n := startNode(t, nil)
	me := n.signUp(t, "searcher")
	a1 := n.signUp(t, "anna")
	a2 := n.signUp(t, "annabel")
	n.signUp(t, "zed_100%")
	c := n.connected(t, me, "d")

	got := c.roundTrip(`{"request":{"user_search":{"keyword":"ANN","ignore_ids":[],"limit":5},"id":"s1"}}`,
		`{"response":{"id":"s1","users":[`+userPattern+`,`+userPattern+`]}}`)
	ids := idsOf(got)
	if !(contains(ids, a1.id) && contains(ids, a2.id)) {
		t.Fatalf("search ann: got %v, want anna and annabel", ids)
	}
	c.roundTrip(`{"request":{"user_search":{"keyword":"ann","ignore_ids":["`+a1.id+`"]},"id":"s2"}}`,
		`{"response":{"id":"s2","users":[`+userPattern+`]}}`)
	c.roundTrip(`{"request":{"user_search":{"keyword":"ann","limit":1},"id":"s3"}}`,
		`{"response":{"id":"s3","users":[`+userPattern+`]}}`)
	c.roundTrip(`{"request":{"user_search":{"keyword":"searcher"},"id":"self"}}`, `{"response":{"id":"self","users":[]}}`)
	c.roundTrip(`{"request":{"user_search":{"keyword":"%"},"id":"wild"}}`, `{"response":{"id":"wild","users":[]}}`)
	c.roundTrip(`{"request":{"user_search":{"keyword":"zed_100%"},"id":"lit"}}`, `{"response":{"id":"lit","users":[`+userPattern+`]}}`)
	c.roundTrip(`{"request":{"user_search":{},"id":"nk"}}`, `{"response":{"id":"nk","error":{"...":true,"status":422,"message":"'keyword' field is required."}}}`)
	c.roundTrip(`{"request":{"user_search":{"keyword":"a","limit":500},"id":"bl"}}`, `{"response":{"id":"bl","error":{"...":true,"status":422,"message":"<string>"}}}`)

	c.roundTrip(`{"request":{"get_users_by_ids":{"ids":[]},"id":"g0"}}`, `{"response":{"id":"g0","error":{"...":true,"status":422,"message":"'ids' must contain at least 1 items"}}}`)
	c.roundTrip(`{"request":{"get_users_by_ids":{},"id":"g1"}}`, `{"response":{"id":"g1","error":{"...":true,"status":422,"message":"'ids' field is required."}}}`)
	c.roundTrip(`{"request":{"get_users_by_ids":{"ids":["test1","test2"]},"id":"g2"}}`, `{"response":{"id":"g2","users":[]}}`)
	got = c.roundTrip(`{"request":{"get_users_by_ids":{"ids":["`+a1.id+`","`+a2.id+`","nope"]},"id":"g3"}}`,
		`{"response":{"id":"g3","users":[`+userPattern+`,`+userPattern+`]}}`)
	if ids := idsOf(got); ids[0] < ids[1] {
		t.Fatalf("get_users_by_ids order: got %v, want _id descending", ids)
	}
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf("%q", fmt.Sprint(i)))
	}
	c.roundTrip(`{"request":{"get_users_by_ids":{"ids":[`+strings.Join(many, ",")+`]},"id":"g4"}}`,
		`{"response":{"id":"g4","error":{"...":true,"status":422,"message":"'ids' max length 100"}}}`)
}

func idsOf(frame map[string]any) []string {
	var out []string
	for _, u := range frame["response"].(map[string]any)["users"].([]any) {
		out = append(out, u.(map[string]any)["_id"].(string))
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
