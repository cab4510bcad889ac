package httpauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/samagate/samagate/auth"
)

// createOrg creates an organization through the admin API.
func (s *server) createOrg(t *testing.T, key, name string) string {
	t.Helper()
	r := s.do(t, req{path: "/admin/organization", body: `{"name":"` + name + `"}`, header: map[string]string{"admin-api-key": key}})
	var got struct {
		Organization struct {
			ID        string `json:"_id"`
			Name      string `json:"name"`
			CreatedAt string `json:"created_at"`
		} `json:"organization"`
	}
	if r.status != 200 || json.Unmarshal([]byte(r.body), &got) != nil || got.Organization.ID == "" ||
		got.Organization.Name != name || got.Organization.CreatedAt == "" {
		t.Fatalf("create org: got %d %q", r.status, r.body)
	}
	return got.Organization.ID
}

func TestAdminCreateOrganization(t *testing.T) {
	s := newServer(t, func(o *options) { o.http.AdminAPIKey = "k3y" })
	s.createOrg(t, "k3y", "Acme")
	for name, h := range map[string]map[string]string{"no key": nil, "wrong key": {"admin-api-key": "nope"}} {
		expectError(t, s.do(t, req{path: "/admin/organization", body: `{"name":"X"}`, header: h}), 401, "Unauthorized.")
		_ = name
	}
	key := map[string]string{"admin-api-key": "k3y"}
	r := s.do(t, req{path: "/admin/organization", body: `{"name":"  "}`, header: key})
	if r.status != 422 || !strings.Contains(r.body, "'name'") {
		t.Fatalf("blank name: got %d %q", r.status, r.body)
	}
	expectError(t, s.do(t, req{path: "/admin/nothing", header: key}), 404, "Route not found")

	off := newServer(t, nil) // no key configured: the admin API is closed
	expectError(t, off.do(t, req{path: "/admin/organization", body: `{"name":"X"}`, header: map[string]string{"admin-api-key": ""}}), 401, "Unauthorized.")
}

// TestSelectAccount: one e-mail and password in two organizations answer
// select_account (no token, no cookie); completing with the selection
// token logs into the chosen one and remembers it as last_login; a password
// that matches one account only logs straight in.
func TestSelectAccount(t *testing.T) {
	s := newServer(t, func(o *options) { o.http.AdminAPIKey = "k" })
	acme := s.createOrg(t, "k", "Acme")
	ctx := context.Background()
	for _, u := range []auth.NewUser{
		{Login: "pat", Email: "pat@x.io", Password: "secret1"},
		{OrgID: acme, Login: "patricia", Email: "PAT@x.io", Password: "secret1"},
		{OrgID: acme, Login: "sam", Email: "sam@x.io", Password: "other1"},
		{Login: "sam", Password: "secret9"},
	} {
		if _, err := s.svc.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	type selection struct {
		SelectAccount struct {
			Accounts  map[string]string `json:"accounts"`
			LastLogin string            `json:"last_login"`
		} `json:"select_account"`
		SelectionToken string `json:"selection_token"`
	}
	choose := func(lastLogin string) selection {
		t.Helper()
		r := s.do(t, req{path: "/login", body: passwordBody("pat@x.io", "secret1", "web")})
		var sel selection
		if r.status != 200 || json.Unmarshal([]byte(r.body), &sel) != nil {
			t.Fatalf("login: got %d %q", r.status, r.body)
		}
		want := map[string]string{"default": "Default", acme: "Acme"}
		if len(sel.SelectAccount.Accounts) != 2 || sel.SelectAccount.Accounts["default"] != want["default"] ||
			sel.SelectAccount.Accounts[acme] != "Acme" || sel.SelectAccount.LastLogin != lastLogin || sel.SelectionToken == "" {
			t.Fatalf("select_account: got %s, want accounts %v and last_login %q", r.body, want, lastLogin)
		}
		if strings.Contains(r.body, "access_token") || len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("select_account logged in: %s %v", r.body, r.header.Values("Set-Cookie"))
		}
		return sel
	}
	sel := choose("")
	bad := []struct{ name, body string }{
		{"no organization", `{"device_id":"web","selection_token":"` + sel.SelectionToken + `"}`},
		{"an organization not offered", `{"device_id":"web","organization_id":"nope","selection_token":"` + sel.SelectionToken + `"}`},
		{"another device", `{"device_id":"phone","organization_id":"` + acme + `","selection_token":"` + sel.SelectionToken + `"}`},
		{"a forged token", `{"device_id":"web","organization_id":"` + acme + `","selection_token":"x.y.z"}`},
	}
	for _, b := range bad {
		if r := s.do(t, req{path: "/login", body: b.body}); r.status != 422 {
			t.Fatalf("%s: got %d %q, want 422", b.name, r.status, r.body)
		}
	}
	ok := s.expectLogin(t, s.do(t, req{path: "/login",
		body: `{"device_id":"web","organization_id":"` + acme + `","selection_token":"` + sel.SelectionToken + `"}`}))
	if ok.User["login"] != "patricia" {
		t.Fatalf("chose Acme, logged in as %v", ok.User)
	}
	choose(acme) // the choice is remembered

	// "sam" exists in both, but this password fits the default one only.
	direct := s.expectLogin(t, s.do(t, req{path: "/login", body: passwordBody("sam", "secret9", "d")}))
	if direct.User["login"] != "sam" {
		t.Fatalf("direct login: %v", direct.User)
	}
	expectError(t, s.do(t, req{path: "/login", body: passwordBody("pat@x.io", "wrong1", "d")}), 401, "Incorrect username or password.")
	// With organization_id, only that organization is looked at, as SAMA.
	in := s.expectLogin(t, s.do(t, req{path: "/login", body: `{"login":"pat@x.io","password":"secret1","device_id":"d","organization_id":"` + acme + `"}`}))
	if in.User["login"] != "patricia" {
		t.Fatalf("org login: %v", in.User)
	}
	if r := s.do(t, req{method: http.MethodGet, path: "/me", bearer: in.AccessToken}); r.status != 200 {
		t.Fatalf("the chosen account's token does not work: %d %q", r.status, r.body)
	}
}
