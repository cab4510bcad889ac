package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// seedFrames are real SAMA frames (sama-reference.md, sama-web-client.md)
// plus broken ones.
var seedFrames = []string{
	`{"request":{"connect":{"token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","device_id":"4144437576"},"id":"c1"}}`,
	`{"request":{"user_login":{"organization_id":"default","login":"u1","password":"p","device_id":"dev-1"},"id":"l1"}}`,
	`{"request":{"user_login":{"organization_id":"default","token":"t","device_id":1},"id":"l2"}}`,
	`{"request":{"user_create":{"organization_id":"default","login":"alice","email":"alice","password":"secret1"},"id":"u:user_create"}}`,
	`{"message":{"id":"client-mid-1","cid":"65f0","body":"hi","x":{"k":"v"},"attachments":[{"file_id":"f","file_name":"a.png","file_size":123}]}}`,
	`{"typing":{"cid":"65f0","status":"start"}}`,
	`{"message_read":{"cid":"65f0"},"id":"123"}`,
	`{"request":{"ping":{},"id":"xyz"}}`,
	`{"request":{"id":"1","ping":{}}}`,
	`{"system_message":{"id":"sm-1","uids":["a","b"],"x":{"any":"thing"}}}`,
	`{"request":{"user_search":{"keyword":"bob","ignore_ids":[],"limit":5},"id":"s"}}`,
	`{"request":{"get_users_by_ids":{"ids":["1","2"]},"id":7}}`,
	`{"request":{"message_list":{"cid":"65f0","limit":20,"updated_at":{"gt":"2024-01-01T00:00:00.000Z"}},"id":{"n":1}}}`,
	` {"request" : {"ping" : null , "id" : null}} ` + "\n",
	`{}`,
	`{"id":"x"}`,
	`{"":{}}`,
	`{"":{},"ping":{}}`,
	`{"request":{"ping":{},"connect":{}}}`,
	`{"request":`,
	`[1,2,3]`,
	`nonsense`,
	`{"request":{"request":{}}}`,
	`{"ping":null}`,
	`{"ping":[1]}`,
	"{\"ping\":{\"a\":\"\xff\xfe\"}}",
}

// FuzzDecode: Decode never panics; a success satisfies the envelope
// invariants and yields well-formed replies; a failure is a 400 wire error.
// Every input is also tried cut short, as a truncated frame would be: a cut
// inside a frame that decodes must fail, since no proper prefix of a JSON
// object is a JSON object.
func FuzzDecode(f *testing.F) {
	for _, s := range seedFrames {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		ok := checkDecode(t, frame)
		body := len(bytes.TrimRight(frame, " \t\r\n"))
		n := len(frame)
		for _, cut := range [...]int{1, n / 4, n / 2, 3 * n / 4, n - 1} {
			if cut <= 0 || cut >= n {
				continue
			}
			if checkDecode(t, frame[:cut]) && ok && cut < body {
				t.Fatalf("Decode(%q) succeeded on a truncation of the valid frame %q", frame[:cut], frame)
			}
		}
	})
}

// checkDecode decodes frame, checks every invariant, and reports whether the
// frame decoded.
func checkDecode(t *testing.T, frame []byte) bool {
	t.Helper()
	req, err := Decode(frame)
	// Decode reads the envelope through maps: the outcome must not depend on
	// their iteration order (it once did, for {"":{},"ping":{}}).
	for range 3 {
		req2, err2 := Decode(frame)
		if (err == nil) != (err2 == nil) || (err != nil && !errors.Is(err2, err)) ||
			req2.Method != req.Method || !bytes.Equal(req2.ID, req.ID) || !bytes.Equal(req2.Params, req.Params) {
			t.Fatalf("Decode(%q) is not deterministic: %+v, %v then %+v, %v", frame, req, err, req2, err2)
		}
	}
	if err != nil {
		var we *Error
		if !errors.As(err, &we) || we.Status != 400 {
			t.Fatalf("Decode(%q): got error %v, want a 400 *Error", frame, err)
		}
		if req.ID != nil && !json.Valid(req.ID) {
			t.Fatalf("Decode(%q): id %q after an error is not valid JSON", frame, req.ID)
		}
		if out := ErrorFrame(req.ID, we); !json.Valid(out) {
			t.Fatalf("ErrorFrame for %q: invalid JSON %q", frame, out)
		}
		if out := req.ErrorReply(we); !json.Valid(out) {
			t.Fatalf("ErrorReply after an error for %q: invalid JSON %q", frame, out)
		}
		return false
	}
	if req.Method == "" || req.Method == "id" || req.Method == "request" {
		t.Fatalf("Decode(%q): got method %q", frame, req.Method)
	}
	if len(req.Params) == 0 || req.Params[0] != '{' || !json.Valid(req.Params) {
		t.Fatalf("Decode(%q): params %q are not a JSON object", frame, req.Params)
	}
	if req.ID != nil && !json.Valid(req.ID) {
		t.Fatalf("Decode(%q): id %q is not valid JSON", frame, req.ID)
	}
	for _, e := range []*Error{ErrBadRequest, FieldRequired("cid"), ErrBadFormat.WithField(req.Method, "x")} {
		if out := req.ErrorReply(e); !json.Valid(out) {
			t.Fatalf("ErrorReply for %q: invalid JSON %q", frame, out)
		}
	}
	if out := ErrorFrame(req.ID, ErrInternal); !json.Valid(out) {
		t.Fatalf("ErrorFrame for %q: invalid JSON %q", frame, out)
	}
	if out, err := Response(req.ID, F("ok", true), F("params", req.Params)); err != nil || !json.Valid(out) {
		t.Fatalf("Response for %q: %v %q", frame, err, out)
	}
	return true
}

func BenchmarkDecode(b *testing.B) {
	frames := []struct {
		name  string
		frame []byte
	}{
		{"wrapped", typicalFrame},
		{"top_level_message", []byte(`{"message":{"id":"client-mid-1","cid":"65f0c1a2b3c4d5e6f7a8b9c0","body":"hello there","x":{"k":"v"}}}`)},
		{"ping", []byte(`{"request":{"ping":{},"id":"p"}}`)},
		{"malformed", []byte(`{"request":{"ping":{},"id":"p"`)},
	}
	for _, bf := range frames {
		b.Run(bf.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bf.frame)))
			for b.Loop() {
				_, _ = Decode(bf.frame)
			}
		})
	}
}

func BenchmarkResponse(b *testing.B) {
	id := json.RawMessage(`"5d1c7e2a-list"`)
	user := json.RawMessage(`{"_id":"65f0c1a2b3c4d5e6f7a8b9c0","native_id":"65f0c1a2b3c4d5e6f7a8b9c0","login":"alice","recent_activity":1700000000}`)
	b.Run("success", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Response(id, F("success", true)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Response(id, F("user", user), F("token", "eyJhbGciOiJIUzI1NiJ9.e30.sig")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("error_reply", func(b *testing.B) {
		req, err := Decode(typicalFrame)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			_ = req.ErrorReply(ErrForbidden)
		}
	})
}
