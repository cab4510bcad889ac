package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/samagate/samagate/app"
)

// contactJSON is the exact wire form of a contact owned by owner, with the
// given names and lists (JSON text, "" = absent).
func contactJSON(owner, first, last, company, email, phone string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"_id":"<string>","user_id":%q,"organization_id":"default"`, owner)
	for _, f := range [][2]string{{"first_name", first}, {"last_name", last}, {"company", company}} {
		if f[1] != "" {
			fmt.Fprintf(&b, `,%q:%q`, f[0], f[1])
		}
	}
	if email != "" {
		b.WriteString(`,"email":` + email)
	}
	if phone != "" {
		b.WriteString(`,"phone":` + phone)
	}
	b.WriteString(`,"created_at":"<string>","updated_at":"<string>"}`)
	return b.String()
}

// signUpWith creates a user of org with the given e-mail and phone.
func (n *node) signUpWith(t *testing.T, org, login, email, phone string) account {
	t.Helper()
	c := n.dial(t)
	fields := fmt.Sprintf(`"login":%q,"password":"pw-%s","organization_id":%q`, login, login, org)
	if email != "" {
		fields += fmt.Sprintf(`,"email":%q`, email)
	}
	if phone != "" {
		fields += fmt.Sprintf(`,"phone":%q`, phone)
	}
	got := c.roundTrip(`{"request":{"user_create":{`+fields+`},"id":"su"}}`,
		`{"response":{"id":"su","user":{"...":true,"_id":"<string>"}}}`)
	return account{id: str(t, got, "response.user._id"), login: login, password: "pw-" + login}
}

// TestContacts: SAMA's contacts.spec.js flow. Entries match the users of
// the organization by e-mail or phone (case-insensitively), at the time of
// each reply: a later sign-up matches, an e-mail change or a deleted
// account unmatches, and nobody's contact is rewritten.
func TestContacts(t *testing.T) {
	n := startNode(t, nil)
	alice := n.signUp(t, "alice")
	bob := n.signUpWith(t, "default", "bob", "bob@example.com", "")
	carol := n.signUpWith(t, "default", "carol", "carol@example.com", "5550001")
	as := n.connected(t, alice, "web")

	got := as.roundTrip(`{"request":{"contact_add":{"first_name":"Bob","last_name":"Builder","company":"Acme","email":[{"type":"work","value":"BOB@Example.com"}],"phone":[{"type":"home","value":"543"}]},"id":"a1"}}`,
		`{"response":{"id":"a1","contact":`+contactJSON(alice.id, "Bob", "Builder", "Acme",
			fmt.Sprintf(`[{"type":"work","value":"BOB@Example.com","matched_user_id":%q}]`, bob.id), `[{"type":"home","value":"543"}]`)+`}}`)
	bobContact := str(t, got, "response.contact._id")
	as.roundTrip(`{"request":{"contact_add":{"last_name":"Nobody","email":[{"value":"nobody@example.com"}]},"id":"a2"}}`,
		`{"response":{"id":"a2","contact":`+contactJSON(alice.id, "", "Nobody", "", `[{"value":"nobody@example.com"}]`, "")+`}}`)
	time.Sleep(5 * time.Millisecond) // the batch changes after a2, not in its millisecond

	// A batch is stored in one go; an entry with only a phone is kept
	// (SAMA skips contacts that lack either list).
	as.roundTrip(`{"request":{"contact_batch_add":{"contacts":[
		{"first_name":"Carol","phone":[{"type":"mobile","value":"5550001"}]},
		{"first_name":"Dave","email":[{"value":"dave@example.com"}],"phone":[{"value":"5550002"}]},
		{"first_name":"Erin","email":[],"phone":[{"value":5550003}]}]},"id":"b1"}}`,
		`{"response":{"id":"b1","contacts":[`+
			contactJSON(alice.id, "Carol", "", "", "", fmt.Sprintf(`[{"type":"mobile","value":"5550001","matched_user_id":%q}]`, carol.id))+`,`+
			contactJSON(alice.id, "Dave", "", "", `[{"value":"dave@example.com"}]`, `[{"value":"5550002"}]`)+`,`+
			contactJSON(alice.id, "Erin", "", "", `[]`, `[{"value":"5550003"}]`)+`]}}`)
	as.roundTrip(`{"request":{"contact_batch_add":{"contacts":[]},"id":"b2"}}`, `{"response":{"id":"b2","contacts":[]}}`)

	// The list is newest first; within one batch the later added first.
	list := func(id, params string, names ...string) map[string]any {
		t.Helper()
		items := make([]string, len(names))
		for i, nm := range names {
			key := "first_name"
			if last, ok := strings.CutPrefix(nm, "last:"); ok {
				key, nm = "last_name", last
			}
			items[i] = fmt.Sprintf(`{"...":true,%q:%q}`, key, nm)
		}
		return as.roundTrip(`{"request":{"contact_list":`+params+`,"id":"`+id+`"}}`,
			`{"response":{"id":"`+id+`","contacts":[`+strings.Join(items, ",")+`]}}`)
	}
	list("l1", `{}`, "Erin", "Dave", "Carol", "last:Nobody", "Bob")
	list("l2", `{"limit":2}`, "Erin", "Dave")
	a2At := contactField(t, list("l3", `{"limit":4}`, "Erin", "Dave", "Carol", "last:Nobody"), 3, "updated_at")
	list("l4", fmt.Sprintf(`{"updated_at":%q}`, a2At), "Erin", "Dave", "Carol")
	list("l5", fmt.Sprintf(`{"updated_at":{"gt":%q}}`, a2At), "Erin", "Dave", "Carol")
	list("l6", fmt.Sprintf(`{"updated_at":{"lt":%q}}`, a2At), "Bob")
	list("l7", `{"updated_at":{"lt":"2000-01-01T00:00:00.000Z"}}`)

	// Update changes the given fields, re-matches and moves the contact up.
	time.Sleep(5 * time.Millisecond)
	as.roundTrip(fmt.Sprintf(`{"request":{"contact_update":{"id":%q,"first_name":"Robert","email":[{"type":"work","value":"carol@example.com"}]},"id":"u1"}}`, bobContact),
		`{"response":{"id":"u1","contact":`+contactJSON(alice.id, "Robert", "Builder", "Acme",
			fmt.Sprintf(`[{"type":"work","value":"carol@example.com","matched_user_id":%q}]`, carol.id), `[{"type":"home","value":"543"}]`)+`}}`)
	list("l8", `{"limit":1}`, "Robert")

	// Matches follow the users: dave and erin sign up (matched), carol
	// changes her e-mail (alice's entry keeps what alice wrote, unmatched).
	dave := n.signUpWith(t, "default", "dave", "Dave@Example.com", "")
	erin := n.signUpWith(t, "default", "erin", "", "5550003")
	cs := n.connected(t, carol, "web")
	cs.roundTrip(`{"request":{"user_edit":{"email":"carol@new.example.com"},"id":"e"}}`, `{"response":{"id":"e","user":{"...":true}}}`)
	as.roundTrip(`{"request":{"contact_list":{"limit":3},"id":"l9"}}`, `{"response":{"id":"l9","contacts":[`+
		contactJSON(alice.id, "Robert", "Builder", "Acme", `[{"type":"work","value":"carol@example.com"}]`, `[{"type":"home","value":"543"}]`)+`,`+
		contactJSON(alice.id, "Erin", "", "", `[]`, fmt.Sprintf(`[{"value":"5550003","matched_user_id":%q}]`, erin.id))+`,`+
		contactJSON(alice.id, "Dave", "", "", fmt.Sprintf(`[{"value":"dave@example.com","matched_user_id":%q}]`, dave.id), `[{"value":"5550002"}]`)+`]}}`)
	// A deleted account matches no more.
	cs.roundTrip(`{"request":{"user_delete":{},"id":"d"}}`, `{"response":{"id":"d","success":true}}`)
	as.roundTrip(`{"request":{"contact_list":{"updated_at":{"gt":"`+a2At+`"},"limit":100},"id":"l10"}}`, `{"response":{"id":"l10","contacts":[{"...":true},{"...":true},{"...":true},`+
		contactJSON(alice.id, "Carol", "", "", "", `[{"type":"mobile","value":"5550001"}]`)+`]}}`)

	// Delete.
	as.roundTrip(fmt.Sprintf(`{"request":{"contact_delete":{"id":%q},"id":"x1"}}`, bobContact), `{"response":{"id":"x1","success":true}}`)
	as.roundTrip(fmt.Sprintf(`{"request":{"contact_delete":{"id":%q},"id":"x2"}}`, bobContact), `{"response":{"id":"x2","success":true}}`)
	list("l11", `{}`, "Erin", "Dave", "Carol", "last:Nobody")
	// The owner's account takes the address book with it.
	as.roundTrip(`{"request":{"user_delete":{},"id":"ad"}}`, `{"response":{"id":"ad","success":true}}`)
	as.roundTrip(`{"request":{"contact_list":{},"id":"l12"}}`, `{"response":{"id":"l12","error":{"status":401,"message":"Unauthorized."}}}`)
}

// contactField is field of the i-th contact of a contact_list reply.
func contactField(t *testing.T, m map[string]any, i int, field string) string {
	t.Helper()
	items, ok := m["response"].(map[string]any)["contacts"].([]any)
	if !ok || len(items) <= i {
		t.Fatalf("no contact %d in %v", i, m)
	}
	v, ok := items[i].(map[string]any)[field].(string)
	if !ok {
		t.Fatalf("contact %d has no %s: %v", i, field, items[i])
	}
	return v
}

// TestContactErrors: every error of the contact methods, in SAMA's wording
// where SAMA has one, and samagate's bounds on hostile input.
func TestContactErrors(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Contacts.MaxPerUser = 5 })
	alice := n.signUp(t, "alice")
	anon := n.dial(t)
	for _, m := range []string{"contact_add", "contact_batch_add", "contact_update", "contact_list", "contact_delete"} {
		anon.roundTrip(`{"request":{"`+m+`":{},"id":"x"}}`, `{"response":{"id":"x","error":{"status":401,"message":"Unauthorized."}}}`)
	}
	anon.roundTrip(`{"request":{"contact_match":{},"id":"x"}}`, `{"response":{"id":"x","error":{"status":404,"message":"Method not supported."}}}`)

	as := n.connected(t, alice, "web")
	got := as.roundTrip(`{"request":{"contact_add":{"first_name":"Al","phone":[{"value":"1"}]},"id":"ok"}}`, `{"response":{"id":"ok","contact":{"...":true}}}`)
	id := str(t, got, "response.contact._id")

	long := strings.Repeat("x", 256)
	manyEntries := strings.TrimSuffix(strings.Repeat(`{"value":"1"},`, 11), ",")
	manyContacts := strings.TrimSuffix(strings.Repeat(`{"first_name":"Al","phone":[{"value":"1"}]},`, 101), ",")
	invalid := func(field, msg string) string {
		return fmt.Sprintf(`{"status":422,"message":%q,"errors":{%q:[%q]}}`, msg, field, msg)
	}
	nameMissed := `{"status":422,"message":"'first_name' or 'last_name' is missed.","errors":{"first_name":["'first_name' or 'last_name' is missed."],"last_name":["'first_name' or 'last_name' is missed."]}}`
	meansMissed := `{"status":422,"message":"Email or phone is missed.","errors":{"email":["Email or phone is missed."],"phone":["Email or phone is missed."]}}`
	idMissed := `{"status":422,"message":"Contact id is missed.","errors":{"id":["Contact id is missed."]}}`
	notFound := `{"status":422,"message":"Contact not found.","errors":{"id":["Contact not found."]}}`
	cases := []struct{ name, method, params, want string }{
		{"add: name missed", "contact_add", `{"company":"UserCompany2","phone":[{"type":"work","value":"phone_2"}]}`, nameMissed},
		{"add: email or phone missed", "contact_add", `{"first_name":"Name1","last_name":"Surname1","company":"UserCompany1"}`, meansMissed},
		{"add: both missed", "contact_add", `{}`, meansMissed},
		{"add: short name", "contact_add", `{"first_name":"A","phone":[{"value":"1"}]}`, invalid("first_name", `"first_name" length must be at least 2 characters long`)},
		{"add: long name", "contact_add", `{"last_name":"` + long + `","phone":[{"value":"1"}]}`, invalid("last_name", `"last_name" length must be less than or equal to 255 characters long`)},
		{"add: empty company", "contact_add", `{"first_name":"Al","company":"","phone":[{"value":"1"}]}`, invalid("company", `"company" is not allowed to be empty`)},
		{"add: name not a string", "contact_add", `{"first_name":7,"phone":[{"value":"1"}]}`, invalid("first_name", `'first_name' has an incorrect type.`)},
		{"add: email not a list", "contact_add", `{"first_name":"Al","email":"a@b.c"}`, invalid("email", `'email' has an incorrect type.`)},
		{"add: too many phones", "contact_add", `{"first_name":"Al","phone":[` + manyEntries + `]}`, invalid("phone", `"phone" must contain less than or equal to 10 items`)},
		{"add: entry without value", "contact_add", `{"first_name":"Al","email":[{"type":"work"}]}`, invalid("email[0].value", `"email[0].value" is required`)},
		{"add: empty value", "contact_add", `{"first_name":"Al","phone":[{"value":"1"},{"value":""}]}`, invalid("phone[1].value", `"phone[1].value" is not allowed to be empty`)},
		{"add: long value", "contact_add", `{"first_name":"Al","email":[{"value":"` + long + `"}]}`, invalid("email[0].value", `"email[0].value" length must be less than or equal to 255 characters long`)},
		{"add: long type", "contact_add", `{"first_name":"Al","email":[{"type":"` + long + `","value":"a"}]}`, invalid("email[0].type", `"email[0].type" length must be less than or equal to 255 characters long`)},
		{"add: params not an object", "contact_add", `[]`, `{"status":400,"message":"Bad request - invalid data format","errors":{"contact_add":["must be an object"]}}`},
		{"batch: contacts missing", "contact_batch_add", `{}`, invalid("contacts", `"contacts" is required`)},
		{"batch: contacts not a list", "contact_batch_add", `{"contacts":{}}`, invalid("contacts", `'contacts' has an incorrect type.`)},
		{"batch: too many", "contact_batch_add", `{"contacts":[` + manyContacts + `]}`, invalid("contacts", `"contacts" must contain less than or equal to 100 items`)},
		{"batch: email or phone missed", "contact_batch_add", `{"contacts":[{"first_name":"Name11","last_name":"Surname11","company":"UserCompany"}]}`, meansMissed},
		{"batch: name missed", "contact_batch_add", `{"contacts":[{"email":[{"type":"work","value":"email_3"}],"phone":[{"type":"home","value":"543"}]}]}`, nameMissed},
		{"batch: bad item named", "contact_batch_add", `{"contacts":[{"first_name":"Al","phone":[{"value":"1"}]},{"first_name":"B","phone":[{"value":"1"}]}]}`, invalid("contacts[1].first_name", `"contacts[1].first_name" length must be at least 2 characters long`)},
		{"update: id missed", "contact_update", `{"first_name":"Updated_name"}`, idMissed},
		{"update: id a number", "contact_update", `{"id":5,"first_name":"Updated_name"}`, idMissed},
		{"update: id empty", "contact_update", `{"id":"","first_name":"Updated_name"}`, idMissed},
		{"update: not found", "contact_update", `{"id":"123zxc","first_name":"Updated_name"}`, notFound},
		{"update: bad field", "contact_update", `{"id":"` + id + `","first_name":"U"}`, invalid("first_name", `"first_name" length must be at least 2 characters long`)},
		{"update: bad field before lookup", "contact_update", `{"id":"123zxc","phone":[{}]}`, invalid("phone[0].value", `"phone[0].value" is required`)},
		{"delete: id missed", "contact_delete", `{}`, idMissed},
		{"delete: id an object", "contact_delete", `{"id":{}}`, idMissed},
		{"list: bad date", "contact_list", `{"updated_at":"yesterday"}`, invalid("updated_at", `'updated_at' has an incorrect type.`)},
		{"list: bad limit", "contact_list", `{"limit":"ten"}`, invalid("limit", `'limit' has an incorrect type.`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			as.t = t
			as.roundTrip(`{"request":{"`+c.method+`":`+c.params+`,"id":"e"}}`, `{"response":{"id":"e","error":`+c.want+`}}`)
		})
	}
	as.t = t
	// Nothing of the failed requests was stored: a batch is all or none.
	as.roundTrip(`{"request":{"contact_list":{},"id":"l"}}`, `{"response":{"id":"l","contacts":[{"...":true,"first_name":"Al"}]}}`)

	// The address book is capped (5 here): a batch past it stores nothing.
	four := strings.TrimSuffix(strings.Repeat(`{"first_name":"Al","phone":[{"value":"1"}]},`, 4), ",")
	limit := `{"status":422,"message":"You've reached the maximum contact limit.","errors":{"contacts":["You've reached the maximum contact limit."]}}`
	as.roundTrip(`{"request":{"contact_batch_add":{"contacts":[`+four+`,{"first_name":"Al","phone":[{"value":"1"}]}]},"id":"c1"}}`, `{"response":{"id":"c1","error":`+limit+`}}`)
	as.roundTrip(`{"request":{"contact_batch_add":{"contacts":[`+four+`]},"id":"c2"}}`, `{"response":{"id":"c2","contacts":[{"...":true},{"...":true},{"...":true},{"...":true}]}}`)
	as.roundTrip(`{"request":{"contact_add":{"first_name":"Al","phone":[{"value":"1"}]},"id":"c3"}}`, `{"response":{"id":"c3","error":`+limit+`}}`)
	// A list asks for at most 100.
	as.roundTrip(`{"request":{"contact_list":{"limit":1000},"id":"l2"}}`, `{"response":{"id":"l2","contacts":[{"...":true},{"...":true},{"...":true},{"...":true},{"...":true}]}}`)
}

// TestContactsPrivate: contacts are their owner's only, and match users of
// the owner's organization only.
func TestContactsPrivate(t *testing.T) {
	n := startNode(t, withAdminKey)
	got := n.admin(t, http.MethodPost, "/admin/organization", `{"name":"Acme"}`, http.StatusOK, `{"organization":{"...":true,"_id":"<string>"}}`)
	acme := got["organization"].(map[string]any)["_id"].(string)
	alice := n.signUpWith(t, "default", "alice", "alice@example.com", "111")
	bob := n.signUpWith(t, "default", "bob", "bob@example.com", "222")
	mallory := n.signUpWith(t, acme, "mallory", "mallory@acme.example", "333")
	as, bs, ms := n.connected(t, alice, "web"), n.connected(t, bob, "web"), n.connected(t, mallory, "web")

	// alice's entry for mallory's e-mail and phone matches nobody: mallory
	// is of another organization; bob's e-mail does.
	got = as.roundTrip(`{"request":{"contact_add":{"first_name":"Mixed","email":[{"value":"mallory@acme.example"},{"value":"bob@example.com"}],"phone":[{"value":"333"}]},"id":"a"}}`,
		`{"response":{"id":"a","contact":`+contactJSON(alice.id, "Mixed", "", "",
			fmt.Sprintf(`[{"value":"mallory@acme.example"},{"value":"bob@example.com","matched_user_id":%q}]`, bob.id), `[{"value":"333"}]`)+`}}`)
	id := str(t, got, "response.contact._id")
	// mallory's entries for alice match nobody either, and her contact
	// carries her organization.
	ms.roundTrip(`{"request":{"contact_add":{"first_name":"Alice","email":[{"value":"alice@example.com"}],"phone":[{"value":"111"}]},"id":"m"}}`,
		fmt.Sprintf(`{"response":{"id":"m","contact":{"_id":"<string>","user_id":%q,"organization_id":%q,"first_name":"Alice","email":[{"value":"alice@example.com"}],"phone":[{"value":"111"}],"created_at":"<string>","updated_at":"<string>"}}}`, mallory.id, acme))

	// Nobody else sees, changes or deletes alice's contact, in either
	// organization.
	for _, c := range []struct {
		who string
		cl  *client
	}{{"bob", bs}, {"mallory", ms}} {
		t.Run(c.who, func(t *testing.T) {
			c.cl.t = t
			list := `{"response":{"id":"l","contacts":[]}}`
			if c.who == "mallory" {
				list = `{"response":{"id":"l","contacts":[{"...":true,"first_name":"Alice"}]}}`
			}
			c.cl.roundTrip(`{"request":{"contact_list":{},"id":"l"}}`, list)
			c.cl.roundTrip(`{"request":{"contact_update":{"id":"`+id+`","first_name":"Stolen"},"id":"u"}}`,
				`{"response":{"id":"u","error":{"status":422,"message":"Contact not found.","errors":{"id":["Contact not found."]}}}}`)
			c.cl.roundTrip(`{"request":{"contact_delete":{"id":"`+id+`"},"id":"d"}}`, `{"response":{"id":"d","success":true}}`)
		})
	}
	as.roundTrip(`{"request":{"contact_list":{},"id":"l"}}`, `{"response":{"id":"l","contacts":[{"...":true,"_id":"`+id+`","first_name":"Mixed"}]}}`)
}

// TestContactsAcrossNodes: an address book and its matches are the same
// from every node of a cluster, whichever node the owner or the matched
// user uses.
func TestContactsAcrossNodes(t *testing.T) {
	ns := startCluster(t, 2, nil)
	alice := ns[0].signUp(t, "alice")
	a1, a2 := ns[0].connected(t, alice, "laptop"), ns[1].connected(t, alice, "phone")
	got := a1.roundTrip(`{"request":{"contact_add":{"first_name":"Bob","email":[{"value":"bob@example.com"}]},"id":"a"}}`,
		`{"response":{"id":"a","contact":`+contactJSON(alice.id, "Bob", "", "", `[{"value":"bob@example.com"}]`, "")+`}}`)
	id := str(t, got, "response.contact._id")
	bob := ns[1].signUpWith(t, "default", "bob", "bob@example.com", "")
	a2.roundTrip(`{"request":{"contact_list":{},"id":"l"}}`, `{"response":{"id":"l","contacts":[`+
		contactJSON(alice.id, "Bob", "", "", fmt.Sprintf(`[{"value":"bob@example.com","matched_user_id":%q}]`, bob.id), "")+`]}}`)
	bs := ns[1].connected(t, bob, "web")
	bs.roundTrip(`{"request":{"user_edit":{"email":"bob@new.example.com"},"id":"e"}}`, `{"response":{"id":"e","user":{"...":true}}}`)
	a1.roundTrip(`{"request":{"contact_update":{"id":"`+id+`","last_name":"Builder"},"id":"u"}}`, `{"response":{"id":"u","contact":`+
		contactJSON(alice.id, "Bob", "Builder", "", `[{"value":"bob@example.com"}]`, "")+`}}`)
	a2.roundTrip(`{"request":{"contact_delete":{"id":"`+id+`"},"id":"d"}}`, `{"response":{"id":"d","success":true}}`)
	a1.roundTrip(`{"request":{"contact_list":{},"id":"l2"}}`, `{"response":{"id":"l2","contacts":[]}}`)
}
