package protocol

import (
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
	`{}`,
	`{"id":"x"}`,
	`{"request":{"ping":{},"connect":{}}}`,
	`{"request":`,
	`[1,2,3]`,
	`nonsense`,
	`{"request":{"request":{}}}`,
	`{"ping":null}`,
}

// FuzzDecode: Decode never panics; a success satisfies the envelope
// invariants and yields a well-formed error reply; a failure is a 400 wire
// error. Every input is also tried cut short, as a truncated frame would be.
func FuzzDecode(f *testing.F) {
	for _, s := range seedFrames {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		checkDecode(t, frame)
		for _, cut := range []int{1, len(frame) / 2, len(frame) - 1} {
			if cut > 0 && cut < len(frame) {
				checkDecode(t, frame[:cut])
			}
		}
	})
}

func checkDecode(t *testing.T, frame []byte) {
	req, err := Decode(frame)
	if err != nil {
		var we *Error
		if !errors.As(err, &we) || we.Status != 400 {
			t.Fatalf("Decode(%q): got error %v, want a 400 *Error", frame, err)
		}
		if out := ErrorFrame(req.ID, we); !json.Valid(out) {
			t.Fatalf("ErrorFrame for %q: invalid JSON %q", frame, out)
		}
		return
	}
	if req.Method == "" || req.Method == "id" || req.Method == "request" {
		t.Fatalf("Decode(%q): got method %q", frame, req.Method)
	}
	var params map[string]json.RawMessage
	if json.Unmarshal(req.Params, &params) != nil {
		t.Fatalf("Decode(%q): params %q are not a JSON object", frame, req.Params)
	}
	if req.ID != nil && !json.Valid(req.ID) {
		t.Fatalf("Decode(%q): id %q is not valid JSON", frame, req.ID)
	}
	if out := req.ErrorReply(ErrBadRequest); !json.Valid(out) {
		t.Fatalf("ErrorReply for %q: invalid JSON %q", frame, out)
	}
	if out, err := Response(req.ID, F("ok", true)); err != nil || !json.Valid(out) {
		t.Fatalf("Response for %q: %v %q", frame, err, out)
	}
}
