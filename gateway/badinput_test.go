package gateway_test

import (
	"strings"
	"testing"
)

// TestMalformedAndOversizedParams: every handler answers wrong-typed and
// oversized fields with one 422 naming the field, and the socket goes on.
func TestMalformedAndOversizedParams(t *testing.T) {
	n := startNode(t, nil)
	a := n.signUp(t, "alice")
	c := n.connected(t, a, "d")
	long := strings.Repeat("x", 300)
	cases := []struct{ name, method, params, field string }{
		{"connect token type", "connect", `{"token":5,"device_id":"d"}`, "token"},
		{"connect device too long", "connect", `{"token":"t","device_id":"` + long + `"}`, "device_id"},
		{"connect device type", "connect", `{"token":"t","device_id":{}}`, ""},
		{"user_login login type", "user_login", `{"login":[],"password":"p","device_id":"d"}`, "login"},
		{"user_login device too long", "user_login", `{"login":"alice","password":"p","device_id":"` + long + `"}`, "device_id"},
		{"user_create password type", "user_create", `{"login":"zed","password":{}}`, "password"},
		{"user_create first name too long", "user_create", `{"login":"zed","password":"secret1","first_name":"` + long + `"}`, "first_name"},
		{"user_edit email type", "user_edit", `{"email":5}`, "email"},
		{"user_edit last name too long", "user_edit", `{"last_name":"` + long + `"}`, "last_name"},
		{"user_search keyword type", "user_search", `{"keyword":1}`, "keyword"},
		{"user_search limit type", "user_search", `{"keyword":"a","limit":"ten"}`, "limit"},
		{"user_search bad time", "user_search", `{"keyword":"a","updated_at":{"gt":"yesterday"}}`, ""},
		{"get_users_by_ids ids type", "get_users_by_ids", `{"ids":"x"}`, "ids"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			got := c.roundTrip(`{"request":{"`+tc.method+`":`+tc.params+`,"id":"m"}}`,
				`{"response":{"id":"m","error":{"...":true,"status":422,"message":"<string>"}}}`)
			if tc.field == "" {
				return
			}
			errs, _ := got["response"].(map[string]any)["error"].(map[string]any)["errors"].(map[string]any)
			if _, ok := errs[tc.field]; !ok {
				t.Fatalf("errors: got %v, want the field %q named", errs, tc.field)
			}
		})
	}
	c.t = t
	c.roundTrip(`{"request":{"ping":{},"id":"alive"}}`, `{"response":{"id":"alive","pong":{}}}`)
}
