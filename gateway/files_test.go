package gateway_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/samagate/samagate/app"
	"github.com/samagate/samagate/files"
	"github.com/samagate/samagate/internal/clocktest"
)

// put uploads body to url with content type ctype and returns the status.
func (n *node) put(t *testing.T, url, ctype, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// get downloads url and returns the status and body.
func (n *node) get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := n.http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// otherOrgUser signs up a user in a new organization and binds a socket.
func (n *node) otherOrgUser(t *testing.T) *client {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, n.base+"/admin/organization", strings.NewReader(`{"name":"Acme"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("admin-api-key", "k")
	resp, err := n.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var org struct {
		Organization struct {
			ID string `json:"_id"`
		} `json:"organization"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&org); err != nil || org.Organization.ID == "" {
		t.Fatalf("create org: %v", err)
	}
	resp.Body.Close()
	c := n.dial(t)
	c.roundTrip(fmt.Sprintf(`{"request":{"user_create":{"login":"mallory","password":"secret1","organization_id":%q},"id":"mc"}}`, org.Organization.ID),
		`{"response":{"id":"mc","user":{"...":true}}}`)
	c.roundTrip(fmt.Sprintf(`{"request":{"user_login":{"organization_id":%q,"login":"mallory","password":"secret1","device_id":"m"},"id":"ml"}}`, org.Organization.ID),
		`{"response":{"id":"ml","...":true}}`)
	return c
}

func fileErr(id string, status int, msg, field, problem string) string {
	return fmt.Sprintf(`{"response":{"id":%q,"error":{"status":%d,"message":%q,"errors":{%q:[%q]}}}}`, id, status, msg, field, problem)
}

// TestCreateFilesErrors: every error string of create_files and
// get_file_urls.
func TestCreateFilesErrors(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Files.MaxUploadBytes = 1000 })
	as := n.connected(t, n.signUp(t, "alice"), "d")
	eleven := strings.Repeat(`{"name":"a.png","size":1,"content_type":"image/png"},`, 10) + `{"name":"a.png","size":1,"content_type":"image/png"}`
	ids := strings.Repeat(`"x",`, 10) + `"x"`
	steps := []struct{ name, send, want string }{
		{"not an array", `{"request":{"create_files":{},"id":"e"}}`, fileErr("e", 422, "'create_files' field is required.", "create_files", "is required")},
		{"too many", `{"request":{"create_files":[` + eleven + `],"id":"e"}}`, fileErr("e", 422, "You've exceeded the file limit.", "create_files", "You've exceeded the file limit.")},
		{"no name", `{"request":{"create_files":[{"size":1,"content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file name.", "name", "Incorrect file name.")},
		{"long name", `{"request":{"create_files":[{"name":"` + strings.Repeat("a", 256) + `","size":1,"content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file name.", "name", "Incorrect file name.")},
		{"no size", `{"request":{"create_files":[{"name":"a.png","content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file size.", "size", "Incorrect file size.")},
		{"size as text", `{"request":{"create_files":[{"name":"a.png","size":"1","content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file size.", "size", "Incorrect file size.")},
		{"negative size", `{"request":{"create_files":[{"name":"a.png","size":-1,"content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file size.", "size", "Incorrect file size.")},
		{"fractional size", `{"request":{"create_files":[{"name":"a.png","size":1.5,"content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file size.", "size", "Incorrect file size.")},
		{"oversized", `{"request":{"create_files":[{"name":"a.png","size":1001,"content_type":"image/png"}],"id":"e"}}`, fileErr("e", 422, "Incorrect file size.", "size", "at most 1000 bytes")},
		{"no type", `{"request":{"create_files":[{"name":"a.png","size":1}],"id":"e"}}`, fileErr("e", 422, "Incorrect content type.", "content_type", "Incorrect content type.")},
		{"type with a newline", `{"request":{"create_files":[{"name":"a.png","size":1,"content_type":"image/png\r\nX: y"}],"id":"e"}}`, fileErr("e", 422, "Incorrect content type.", "content_type", "Incorrect content type.")},
		{"urls: no ids", `{"request":{"get_file_urls":{},"id":"e"}}`, fileErr("e", 422, "File IDS missed.", "file_ids", "File IDS missed.")},
		{"urls: empty", `{"request":{"get_file_urls":{"file_ids":[]},"id":"e"}}`, fileErr("e", 422, "File IDS missed.", "file_ids", "File IDS missed.")},
		{"urls: not strings", `{"request":{"get_file_urls":{"file_ids":[1]},"id":"e"}}`, fileErr("e", 422, "File IDS missed.", "file_ids", "File IDS missed.")},
		{"urls: too many", `{"request":{"get_file_urls":{"file_ids":[` + ids + `]},"id":"e"}}`, fileErr("e", 422, "File IDs for get download url exceeded.", "file_ids", "File IDs for get download url exceeded.")},
		{"urls: unknown", `{"request":{"get_file_urls":{"file_ids":["nope"]},"id":"e"}}`, `{"response":{"id":"e","file_urls":{}}}`},
		{"empty list", `{"request":{"create_files":[],"id":"e"}}`, `{"response":{"id":"e","files":[]}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			as.t = t
			as.roundTrip(s.send, s.want)
		})
	}
	as.t = t
	c := n.dial(t)
	c.roundTrip(`{"request":{"create_files":[{"name":"a.png","size":1,"content_type":"image/png"}],"id":"u"}}`,
		`{"response":{"id":"u","error":{"status":401,"message":"Unauthorized."}}}`)
}

// TestAttachments: the whole path of a file, and who may get it. alice
// uploads, sends it to a group with bob; carol (same organization, not a
// member) and mallory (another organization) get no URL and cannot attach
// it; URLs expire, and one file's URL does not open another.
func TestAttachments(t *testing.T) {
	clock := clocktest.New()
	n := startNode(t, func(c *app.Config) {
		c.Files.MaxUploadBytes = 1000
		c.Files.Now = clock.Now
		c.HTTP.AdminAPIKey = "k"
	})
	a, b, c := n.signUp(t, "alice"), n.signUp(t, "bob"), n.signUp(t, "carol")
	as, bs, cs := n.connected(t, a, "d"), n.connected(t, b, "d"), n.connected(t, c, "d")
	ms := n.otherOrgUser(t)
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"g","name":"team","participants":[%q]},"id":"g"}}`, b.id),
		`{"response":{"id":"g","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)

	png := "\x89PNG\r\n\x1a\nfake image"
	got = as.roundTrip(fmt.Sprintf(`{"request":{"create_files":[{"name":"cat.png","size":%d,"content_type":"image/png"},{"name":"notes.txt","size":5,"content_type":"text/plain"},{"name":"never.txt","size":5,"content_type":"text/plain"}],"id":"cf"}}`, len(png)),
		fmt.Sprintf(`{"response":{"id":"cf","files":[
			{"_id":"<string>","object_id":"<string>","name":"cat.png","size":%d,"content_type":"image/png","upload_url":"<string>","created_at":"<string>","updated_at":"<string>"},
			{"...":true,"name":"notes.txt","size":5,"content_type":"text/plain"},
			{"...":true,"name":"never.txt"}]}}`, len(png)))
	fs := got["response"].(map[string]any)["files"].([]any)
	field := func(i int, k string) string { return fs[i].(map[string]any)[k].(string) }
	cat, notes, never := field(0, "object_id"), field(1, "object_id"), field(2, "object_id")
	catUp, notesUp := field(0, "upload_url"), field(1, "upload_url")
	if !strings.HasPrefix(catUp, n.base+"/files/"+cat+"?") {
		t.Fatalf("upload URL %s: want it under %s/files/<id>", catUp, n.base)
	}

	// Uploads: the declared type and size are enforced.
	for _, u := range []struct {
		name, url, ctype, body string
		want                   int
	}{
		{"mistyped", catUp, "text/html", png, http.StatusUnsupportedMediaType},
		{"oversized", notesUp, "text/plain", "123456", http.StatusRequestEntityTooLarge},
		{"short", notesUp, "text/plain", "1234", http.StatusBadRequest},
		{"another file's URL", strings.Replace(catUp, cat, never, 1), "image/png", png, http.StatusForbidden},
		{"ok", catUp, "image/png", png, http.StatusOK},
		{"ok text", notesUp, "text/plain", "hello", http.StatusOK},
	} {
		if got := n.put(t, u.url, u.ctype, u.body); got != u.want {
			t.Errorf("upload %s: %d, want %d", u.name, got, u.want)
		}
	}

	// Before it is sent only the uploader gets a URL.
	as.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`"]},"id":"u1"}}`, `{"response":{"id":"u1","file_urls":{"`+cat+`":"<string>"}}}`)
	bs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`"]},"id":"u2"}}`, `{"response":{"id":"u2","file_urls":{}}}`)

	att := func(id string) string {
		return `[{"file_id":"` + id + `","file_name":"lie.exe","file_size":1,"file_content_type":"text/html","file_width":640,"file_height":480,"file_blur_hash":"LEHV6nWB2yk8"}]`
	}
	steps := []struct {
		name string
		cl   *client
		send string
		want string
	}{
		{"attachments not a list", as, `{"message":{"id":"x1","cid":"` + cid + `","attachments":{"file_id":"` + cat + `"}}}`, `{"message":{"id":"x1","error":{"status":422,"message":"Incorrect attachments.","...":true}}}`},
		{"empty attachments", as, `{"message":{"id":"x2","cid":"` + cid + `","attachments":[]}}`, `{"message":{"id":"x2","error":{"status":422,"message":"Incorrect attachments.","...":true}}}`},
		{"no file_id", as, `{"message":{"id":"x3","cid":"` + cid + `","attachments":[{"file_name":"a"}]}}`, `{"message":{"id":"x3","error":{"status":422,"message":"Incorrect attachments.","...":true}}}`},
		{"unknown file", as, `{"message":{"id":"x4","cid":"` + cid + `","attachments":[{"file_id":"000000000000000000000000"}]}}`, `{"message":{"id":"x4","error":{"status":404,"message":"File not found."}}}`},
		{"not uploaded", as, `{"message":{"id":"x5","cid":"` + cid + `","attachments":[{"file_id":"` + never + `"}]}}`, `{"message":{"id":"x5","error":{"status":422,"message":"File not uploaded.","errors":{"attachments":["File not uploaded."]}}}}`},
		{"someone else's unsent file", bs, `{"message":{"id":"x6","cid":"` + cid + `","attachments":` + att(cat) + `}}`, `{"message":{"id":"x6","error":{"status":404,"message":"File not found."}}}`},
		{"non-member", cs, `{"message":{"id":"x7","cid":"` + cid + `","attachments":` + att(cat) + `}}`, `{"message":{"id":"x7","error":{"status":403,"message":"Forbidden."}}}`},
		{"other organization", ms, `{"message":{"id":"x8","cid":"` + cid + `","attachments":` + att(cat) + `}}`, `{"message":{"id":"x8","error":{"status":404,"message":"Conversation not found."}}}`},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.cl.t = t
			s.cl.roundTrip(s.send, s.want)
		})
	}
	as.t, bs.t, cs.t, ms.t = t, t, t, t

	// alice sends it; the declared name, size and type replace what the
	// message claimed, the extra fields pass through.
	as.roundTrip(`{"message":{"id":"m1","cid":"`+cid+`","body":"look","attachments":`+att(cat)+`}}`, `{"ask":{"...":true,"mid":"m1"}}`)
	wantAtt := fmt.Sprintf(`[{"file_id":%q,"file_name":"cat.png","file_size":%d,"file_content_type":"image/png","file_width":640,"file_height":480,"file_blur_hash":"LEHV6nWB2yk8"}]`, cat, len(png))
	bs.expect(`{"message":{"...":true,"body":"look","attachments":` + wantAtt + `}}`)
	bs.roundTrip(`{"request":{"message_list":{"cid":"`+cid+`"},"id":"l"}}`, `{"response":{"id":"l","messages":[{"...":true,"attachments":`+wantAtt+`}]}}`)

	// Now bob gets a URL (unknown ids are left out); carol and mallory don't.
	got = bs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`","`+notes+`","nope"]},"id":"u3"}}`, `{"response":{"id":"u3","file_urls":{"`+cat+`":"<string>"}}}`)
	catDown := str(t, got, "response.file_urls."+cat)
	if code, body := n.get(t, catDown); code != http.StatusOK || body != png {
		t.Fatalf("download: %d %q", code, body)
	}
	cs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`"]},"id":"u4"}}`, `{"response":{"id":"u4","file_urls":{}}}`)
	ms.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`"]},"id":"u5"}}`, `{"response":{"id":"u5","file_urls":{}}}`)
	// bob may forward it (he can read it) to a chat with carol, who then can.
	got = bs.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"p"}}`, c.id),
		`{"response":{"id":"p","conversation":{"...":true,"_id":"<string>"}}}`)
	pid := str(t, got, "response.conversation._id")
	cs.expect(`{"system_message":{"...":true}}`)
	bs.roundTrip(`{"message":{"id":"f1","cid":"`+pid+`","attachments":[{"file_id":"`+cat+`"}],"forwarded_message_id":"m1"}}`, `{"ask":{"...":true,"mid":"f1"}}`)
	cs.expect(`{"message":{"...":true,"attachments":[{"file_id":"` + cat + `","file_name":"cat.png","...":true}]}}`)
	cs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`"]},"id":"u6"}}`, `{"response":{"id":"u6","file_urls":{"`+cat+`":"<string>"}}}`)

	// A message deleted for everyone takes its file's access with it.
	got = as.roundTrip(`{"message":{"id":"m2","cid":"`+cid+`","attachments":[{"file_id":"`+notes+`"}]}}`, `{"ask":{"...":true,"mid":"m2"}}`)
	m2 := str(t, got, "ask.server_mid")
	bs.expect(`{"message":{"...":true,"attachments":[{"file_id":"` + notes + `","...":true}]}}`)
	bs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+notes+`"]},"id":"u8"}}`, `{"response":{"id":"u8","file_urls":{"`+notes+`":"<string>"}}}`)
	as.roundTrip(`{"request":{"message_delete":{"cid":"`+cid+`","ids":["`+m2+`"],"type":"all"},"id":"del"}}`, `{"response":{"id":"del","success":true}}`)
	bs.expect(`{"message_delete":{"...":true}}`)
	bs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+notes+`"]},"id":"u9"}}`, `{"response":{"id":"u9","file_urls":{}}}`)
	as.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+notes+`"]},"id":"u10"}}`, `{"response":{"id":"u10","file_urls":{"`+notes+`":"<string>"}}}`)

	// A URL opens only its own file, and only until it expires.
	if code, _ := n.get(t, strings.Replace(catDown, cat, notes, 1)); code != http.StatusForbidden {
		t.Fatalf("another file through a URL: %d, want 403", code)
	}
	clock.Advance(time.Hour + time.Second)
	if code, _ := n.get(t, catDown); code != http.StatusForbidden {
		t.Fatalf("expired URL: %d, want 403", code)
	}
	if code := n.put(t, notesUp, "text/plain", "hello"); code != http.StatusForbidden {
		t.Fatalf("expired upload URL: %d, want 403", code)
	}
	got = bs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+cat+`"]},"id":"u7"}}`, `{"response":{"id":"u7","file_urls":{"`+cat+`":"<string>"}}}`)
	if code, body := n.get(t, str(t, got, "response.file_urls."+cat)); code != http.StatusOK || !bytes.Equal([]byte(body), []byte(png)) {
		t.Fatalf("fresh URL: %d", code)
	}
}

// TestAttachmentsS3: the same path with S3-compatible storage (gofakes3 in
// memory on 127.0.0.1): presigned upload and download URLs, and an upload
// of another size than declared refused when the message is sent.
func TestAttachmentsS3(t *testing.T) {
	fake := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(fake.Close)
	n := startNode(t, func(c *app.Config) {
		c.Files.S3 = files.S3Config{Endpoint: fake.URL, Bucket: "chat", AccessKey: "k", SecretKey: "s", PathStyle: true}
	})
	a, b := n.signUp(t, "alice"), n.signUp(t, "bob")
	as, bs := n.connected(t, a, "d"), n.connected(t, b, "d")
	got := as.roundTrip(fmt.Sprintf(`{"request":{"conversation_create":{"type":"u","participants":[%q]},"id":"p"}}`, b.id),
		`{"response":{"id":"p","conversation":{"...":true,"_id":"<string>"}}}`)
	cid := str(t, got, "response.conversation._id")
	bs.expect(`{"system_message":{"...":true}}`)
	got = as.roundTrip(`{"request":{"create_files":[{"name":"a.txt","size":5,"content_type":"text/plain"},{"name":"b.txt","size":5,"content_type":"text/plain"}],"id":"cf"}}`,
		`{"response":{"id":"cf","files":[{"...":true},{"...":true}]}}`)
	fs := got["response"].(map[string]any)["files"].([]any)
	field := func(i int, k string) string { return fs[i].(map[string]any)[k].(string) }
	good, bad := field(0, "_id"), field(1, "_id")
	if up := field(0, "upload_url"); !strings.HasPrefix(up, fake.URL+"/chat/"+good+"?") || !strings.Contains(up, "X-Amz-Signature=") {
		t.Fatalf("upload URL %s: want a presigned URL of the bucket", up)
	}
	if code := n.put(t, field(0, "upload_url"), "text/plain", "hello"); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	if code := n.put(t, field(1, "upload_url"), "text/plain", "much longer than five"); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	as.roundTrip(`{"message":{"id":"m0","cid":"`+cid+`","attachments":[{"file_id":"`+bad+`"}]}}`,
		`{"message":{"id":"m0","error":{"status":422,"message":"The uploaded file does not match its declared size or content type.","...":true}}}`)
	as.roundTrip(`{"message":{"id":"m1","cid":"`+cid+`","attachments":[{"file_id":"`+good+`"}]}}`, `{"ask":{"...":true,"mid":"m1"}}`)
	bs.expect(`{"message":{"...":true,"attachments":[{"file_id":"` + good + `","file_name":"a.txt","file_size":5,"file_content_type":"text/plain"}]}}`)
	got = bs.roundTrip(`{"request":{"get_file_urls":{"file_ids":["`+good+`","`+bad+`"]},"id":"u"}}`, `{"response":{"id":"u","file_urls":{"`+good+`":"<string>"}}}`)
	if code, body := n.get(t, str(t, got, "response.file_urls."+good)); code != http.StatusOK || body != "hello" {
		t.Fatalf("download: %d %q", code, body)
	}
}
