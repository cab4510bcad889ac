package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		frame   string
		method  string
		id      string // raw JSON; "" means no id
		params  string
		wrapped bool
	}{
		{"wrapped, id after method", `{"request":{"ping":{},"id":"1"}}`, "ping", `"1"`, `{}`, true},
		{"wrapped, id before method", `{"request":{"id":"1","ping":{}}}`, "ping", `"1"`, `{}`, true},
		{"wrapped, params kept verbatim",
			`{"request":{"user_login":{"login":"u1","password":"p","device_id":"d"},"id":"l1"}}`,
			"user_login", `"l1"`, `{"login":"u1","password":"p","device_id":"d"}`, true},
		{"wrapped, no id", `{"request":{"ping":{}}}`, "ping", "", `{}`, true},
		{"wrapped, id from top level when request has none", `{"id":"t","request":{"ping":{}}}`, "ping", `"t"`, `{}`, true},
		{"wrapped, request id wins over top-level id", `{"id":"t","request":{"ping":{},"id":"r"}}`, "ping", `"r"`, `{}`, true},
		{"id number", `{"request":{"ping":{},"id":42}}`, "ping", `42`, `{}`, true},
		{"id float", `{"request":{"ping":{},"id":-1.5e3}}`, "ping", `-1.5e3`, `{}`, true},
		{"id object", `{"request":{"ping":{},"id":{"a":[1,"x"]}}}`, "ping", `{"a":[1,"x"]}`, `{}`, true},
		{"id array", `{"request":{"ping":{},"id":[1,2]}}`, "ping", `[1,2]`, `{}`, true},
		{"id bool", `{"request":{"ping":{},"id":true}}`, "ping", `true`, `{}`, true},
		{"id null kept verbatim", `{"request":{"ping":{},"id":null}}`, "ping", `null`, `{}`, true},
		{"id string with escapes", `{"request":{"ping":{},"id":"a\"b\u00e9"}}`, "ping", `"a\"b\u00e9"`, `{}`, true},
		{"top level, no id", `{"message":{"id":"m1","cid":"c1","body":"hi"}}`, "message", "", `{"id":"m1","cid":"c1","body":"hi"}`, false},
		{"top level with top-level id", `{"message_read":{"cid":"c1"},"id":"123"}`, "message_read", `"123"`, `{"cid":"c1"}`, false},
		{"top level, id first", `{"id":"123","message_read":{"cid":"c1"}}`, "message_read", `"123"`, `{"cid":"c1"}`, false},
		{"typing", `{"typing":{"cid":"c1","status":"start"}}`, "typing", "", `{"cid":"c1","status":"start"}`, false},
		{"params null become {}", `{"request":{"ping":null,"id":"1"}}`, "ping", `"1"`, `{}`, true},
		{"top-level params null become {}", `{"ping":null}`, "ping", "", `{}`, false},
		{"whitespace around and inside", " \n\t{ \"request\" : { \"ping\" : { } , \"id\" : 7 } } \r\n", "ping", `7`, `{ }`, true},
		{"unknown method still decodes", `{"request":{"no_such_method":{},"id":"1"}}`, "no_such_method", `"1"`, `{}`, true},
		{"method name with unicode", `{"request":{"pïng":{}}}`, "pïng", "", `{}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Decode([]byte(tt.frame))
			if err != nil {
				t.Fatalf("Decode(%s): got error %v, want nil", tt.frame, err)
			}
			if req.Method != tt.method {
				t.Errorf("Method: got %q, want %q", req.Method, tt.method)
			}
			if got := string(req.ID); got != tt.id {
				t.Errorf("ID: got %q, want %q", got, tt.id)
			}
			if tt.id == "" && req.ID != nil {
				t.Errorf("ID: got %q, want nil", req.ID)
			}
			if got := string(req.Params); got != tt.params {
				t.Errorf("Params: got %q, want %q", got, tt.params)
			}
			if req.Wrapped != tt.wrapped {
				t.Errorf("Wrapped: got %v, want %v", req.Wrapped, tt.wrapped)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  *Error // matched with errors.Is
		id    string // raw JSON id the failed Request still carries; "" for none
	}{
		{"empty object", `{}`, ErrNoMethod, ""},
		{"only id", `{"id":"1"}`, ErrNoMethod, `"1"`},
		{"empty request", `{"request":{}}`, ErrNoMethod, ""},
		{"request with only id", `{"request":{"id":"9"}}`, ErrNoMethod, `"9"`},
		{"empty key is not a method", `{"":{}}`, ErrNoMethod, ""},
		{"two methods top level", `{"ping":{},"typing":{}}`, ErrManyMethods, ""},
		{"two methods wrapped", `{"request":{"ping":{},"connect":{},"id":"2"}}`, ErrManyMethods, `"2"`},
		{"request beside another key", `{"request":{"ping":{}},"extra":1}`, ErrManyMethods, ""},
		{"empty key beside a method", `{"":{},"ping":{}}`, ErrManyMethods, ""},
		{"request inside request", `{"request":{"request":{}}}`, ErrBadFormat, ""},
		{"request inside request with ping", `{"request":{"request":{"ping":{}}}}`, ErrBadFormat, ""},
		{"request null", `{"request":null}`, ErrBadFormat, ""},
		{"request is a string", `{"request":"ping"}`, ErrBadFormat, ""},
		{"request is an array", `{"request":[{"ping":{}}]}`, ErrBadFormat, ""},
		{"array", `[{"ping":{}}]`, ErrBadFormat, ""},
		{"string", `"ping"`, ErrBadFormat, ""},
		{"number", `42`, ErrBadFormat, ""},
		{"null", `null`, ErrBadFormat, ""},
		{"true", `true`, ErrBadFormat, ""},
		{"empty", ``, ErrBadFormat, ""},
		{"only whitespace", " \n\t ", ErrBadFormat, ""},
		{"not json", `nonsense`, ErrBadFormat, ""},
		{"truncated after key", `{"request":`, ErrBadFormat, ""},
		{"truncated inside params", `{"request":{"ping":{"a":1`, ErrBadFormat, ""},
		{"missing closing brace", `{"ping":{}`, ErrBadFormat, ""},
		{"trailing comma", `{"ping":{},}`, ErrBadFormat, ""},
		{"single quotes", `{'ping':{}}`, ErrBadFormat, ""},
		{"trailing garbage", `{"ping":{}} x`, ErrBadFormat, ""},
		{"two frames in one", `{"ping":{}}{"ping":{}}`, ErrBadFormat, ""},
		{"params array", `{"request":{"ping":[],"id":"3"}}`, ErrBadFormat, `"3"`},
		{"params string", `{"request":{"ping":"x"}}`, ErrBadFormat, ""},
		{"params number", `{"ping":1}`, ErrBadFormat, ""},
		{"params bool top level with id", `{"message_read":true,"id":"4"}`, ErrBadFormat, `"4"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Decode([]byte(tt.frame))
			if err == nil {
				t.Fatalf("Decode(%s): got method %q, want error %v", tt.frame, req.Method, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode(%s): got error %v, want %v", tt.frame, err, tt.want)
			}
			var we *Error
			if !errors.As(err, &we) || we.Status != 400 {
				t.Errorf("Decode(%s): got %#v, want a 400 *Error", tt.frame, err)
			}
			if req.Method != "" {
				t.Errorf("Method after error: got %q, want empty", req.Method)
			}
			if got := string(req.ID); got != tt.id {
				t.Errorf("ID after error: got %q, want %q", got, tt.id)
			}
		})
	}
}

// A params value that is not an object names the method in the error details.
func TestDecodeParamsNotObjectNamesMethod(t *testing.T) {
	_, err := Decode([]byte(`{"request":{"connect":"tok","id":"1"}}`))
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("got error %v, want *Error", err)
	}
	if we.Status != 400 {
		t.Errorf("status: got %d, want 400", we.Status)
	}
	if got := we.Errors["connect"]; len(got) != 1 || got[0] != "must be an object" {
		t.Errorf("errors[connect]: got %q, want [\"must be an object\"]", got)
	}
	if ErrBadFormat.Errors != nil {
		t.Errorf("ErrBadFormat was modified: Errors = %v", ErrBadFormat.Errors)
	}
}

// Params must not alias a buffer the caller reuses: the gateway reads the next
// frame into its buffer while a handler may still hold the previous Request.
func TestDecodeDoesNotAliasFrame(t *testing.T) {
	frame := []byte(`{"request":{"ping":{"a":"b"},"id":"1"}}`)
	req, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := range frame {
		frame[i] = 'x'
	}
	if got, want := string(req.Params), `{"a":"b"}`; got != want {
		t.Errorf("Params after the frame buffer was overwritten: got %q, want %q", got, want)
	}
	if got, want := string(req.ID), `"1"`; got != want {
		t.Errorf("ID after the frame buffer was overwritten: got %q, want %q", got, want)
	}
}

func TestResponse(t *testing.T) {
	type user struct {
		ID    string `json:"_id"`
		Login string `json:"login"`
	}
	tests := []struct {
		name   string
		id     json.RawMessage
		fields []Field
		want   string
	}{
		{"string id", json.RawMessage(`"1"`), []Field{F("success", true)}, `{"response":{"id":"1","success":true}}`},
		{"number id verbatim", json.RawMessage(`42`), []Field{F("success", true)}, `{"response":{"id":42,"success":true}}`},
		{"object id verbatim", json.RawMessage(`{"k":[1]}`), nil, `{"response":{"id":{"k":[1]}}}`},
		{"null id verbatim", json.RawMessage(`null`), []Field{F("pong", struct{}{})}, `{"response":{"id":null,"pong":{}}}`},
		{"no id", nil, []Field{F("success", false)}, `{"response":{"success":false}}`},
		{"no id no fields", nil, nil, `{"response":{}}`},
		{"field order kept", json.RawMessage(`"x"`),
			[]Field{F("z", 1), F("a", "two"), F("m", []string{}), F("b", map[string]int{})},
			`{"response":{"id":"x","z":1,"a":"two","m":[],"b":{}}}`},
		{"raw JSON values written as is", json.RawMessage(`"r"`),
			[]Field{F("user", json.RawMessage(`{"b":1,"a":2}`)), F("token", json.RawMessage(`"t"`))},
			`{"response":{"id":"r","user":{"b":1,"a":2},"token":"t"}}`},
		{"struct values marshalled", json.RawMessage(`"u"`),
			[]Field{F("user", user{ID: "6", Login: "alice"})},
			`{"response":{"id":"u","user":{"_id":"6","login":"alice"}}}`},
		{"keys escaped", nil, []Field{F(`a"b`, nil)}, `{"response":{"a\"b":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Response(tt.id, tt.fields...)
			if err != nil {
				t.Fatalf("Response: got error %v, want nil", err)
			}
			if string(got) != tt.want {
				t.Errorf("Response:\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("Response: got invalid JSON %s", got)
			}
		})
	}
}

func TestResponseRejectsInvalidJSON(t *testing.T) {
	tests := []struct {
		name   string
		id     json.RawMessage
		fields []Field
	}{
		{"invalid id", json.RawMessage(`{"a"`), nil},
		{"invalid raw value", nil, []Field{F("user", json.RawMessage(`{"a":`))}},
		{"unmarshalable value", nil, []Field{F("ch", make(chan int))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Response(tt.id, tt.fields...)
			if err == nil {
				t.Errorf("Response: got %s, want an error", got)
			}
		})
	}
}

func TestAsk(t *testing.T) {
	got, err := Ask(F("mid", "m1"), F("server_mid", "65f0"), F("t", 1700000000))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"ask":{"mid":"m1","server_mid":"65f0","t":1700000000}}`; string(got) != want {
		t.Errorf("Ask:\n got %s\nwant %s", got, want)
	}
}

func TestEvent(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		payload any
		want    string
	}{
		{"raw payload", "message", json.RawMessage(`{"_id":"1","body":"hi"}`), `{"message":{"_id":"1","body":"hi"}}`},
		{"map payload", "typing", map[string]string{"cid": "c", "status": "start"}, `{"typing":{"cid":"c","status":"start"}}`},
		{"struct payload", "last_activity", struct {
			UID string `json:"uid"`
		}{"u"}, `{"last_activity":{"uid":"u"}}`},
		{"bool payload", "x", true, `{"x":true}`},
		{"nil payload", "x", nil, `{"x":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Event(tt.event, tt.payload)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("Event:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
	if got, err := Event("message", json.RawMessage(`{`)); err == nil {
		t.Errorf("Event with invalid raw payload: got %s, want an error", got)
	}
}

func TestErrorReply(t *testing.T) {
	const e400 = `{"status":400,"message":"Bad Request."}`
	tests := []struct {
		name  string
		frame string
		want  string
	}{
		{"wrapped with id", `{"request":{"user_edit":{},"id":"e1"}}`, `{"response":{"id":"e1","error":` + e400 + `}}`},
		{"wrapped with number id", `{"request":{"user_edit":{},"id":5}}`, `{"response":{"id":5,"error":` + e400 + `}}`},
		{"wrapped without id", `{"request":{"user_edit":{}}}`, `{"response":{"error":` + e400 + `}}`},
		{"wrapped ignores params id", `{"request":{"message":{"id":"m"},"id":"r"}}`, `{"response":{"id":"r","error":` + e400 + `}}`},
		{"top level echoes inner id", `{"message":{"id":"mid-1","cid":"c","body":"b"}}`, `{"message":{"id":"mid-1","error":` + e400 + `}}`},
		{"inner id wins over top-level id", `{"message":{"id":"inner"},"id":"top"}`, `{"message":{"id":"inner","error":` + e400 + `}}`},
		{"top level falls back to top-level id", `{"message_read":{"cid":"c"},"id":"123"}`, `{"message_read":{"id":"123","error":` + e400 + `}}`},
		{"inner null id falls back", `{"message":{"id":null},"id":"top"}`, `{"message":{"id":"top","error":` + e400 + `}}`},
		{"top level without any id", `{"typing":{"cid":"c"}}`, `{"typing":{"error":` + e400 + `}}`},
		{"inner id of any JSON type", `{"system_message":{"id":[1,{"a":2}]}}`, `{"system_message":{"id":[1,{"a":2}],"error":` + e400 + `}}`},
		// SAMA reads json[K].id exactly; encoding/json's case-insensitive struct
		// matching must not turn "ID" into the id.
		{"inner key is case-sensitive", `{"message":{"ID":"x"}}`, `{"message":{"error":` + e400 + `}}`},
		{"inner key is case-sensitive, fallback", `{"message":{"Id":"x"},"id":"t"}`, `{"message":{"id":"t","error":` + e400 + `}}`},
		{"nested id is not the id", `{"message":{"x":{"id":"deep"}}}`, `{"message":{"error":` + e400 + `}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := Decode([]byte(tt.frame))
			if err != nil {
				t.Fatalf("Decode(%s): %v", tt.frame, err)
			}
			got := req.ErrorReply(ErrBadRequest)
			if string(got) != tt.want {
				t.Errorf("ErrorReply:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrorReplyWithFieldDetails(t *testing.T) {
	req, err := Decode([]byte(`{"request":{"message_list":{},"id":"1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	got := req.ErrorReply(FieldRequired("cid"))
	want := `{"response":{"id":"1","error":{"status":422,"message":"'cid' field is required.","errors":{"cid":["is required"]}}}}`
	if string(got) != want {
		t.Errorf("ErrorReply:\n got %s\nwant %s", got, want)
	}
}

// The zero Request (what Decode returns with most errors) replies in the
// request envelope.
func TestErrorReplyZeroRequest(t *testing.T) {
	got := Request{}.ErrorReply(ErrNoMethod)
	want := `{"response":{"error":{"status":400,"message":"Bad request - missing method"}}}`
	if string(got) != want {
		t.Errorf("ErrorReply:\n got %s\nwant %s", got, want)
	}
}

func TestErrorFrame(t *testing.T) {
	tests := []struct {
		name string
		id   json.RawMessage
		e    *Error
		want string
	}{
		{"no id", nil, ErrBadFormat, `{"response":{"error":{"status":400,"message":"Bad request - invalid data format"}}}`},
		{"with id", json.RawMessage(`"7"`), ErrManyMethods, `{"response":{"id":"7","error":{"status":400,"message":"Bad request - more than one method"}}}`},
		{"too large", nil, ErrTooLarge, `{"response":{"error":{"status":413,"message":"Request too large."}}}`},
		// Decode never yields an invalid id; if one gets here anyway the reply
		// drops it rather than sending broken JSON.
		{"invalid id dropped", json.RawMessage(`{"x`), ErrBadFormat, `{"response":{"error":{"status":400,"message":"Bad request - invalid data format"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ErrorFrame(tt.id, tt.e)
			if string(got) != tt.want {
				t.Errorf("ErrorFrame:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestErrorFrameOfDecodeError(t *testing.T) {
	req, err := Decode([]byte(`{"request":{"ping":{},"typing":{},"id":"d"}}`))
	if err == nil {
		t.Fatal("Decode: got nil error, want ErrManyMethods")
	}
	got := ErrorFrame(req.ID, ToWire(err))
	want := `{"response":{"id":"d","error":{"status":400,"message":"Bad request - more than one method"}}}`
	if string(got) != want {
		t.Errorf("ErrorFrame:\n got %s\nwant %s", got, want)
	}
}

func TestToWire(t *testing.T) {
	custom := &Error{Status: 409, Message: "Conflict."}
	tests := []struct {
		name string
		err  error
		want *Error
	}{
		{"sentinel passes through", ErrUnauthorized, ErrUnauthorized},
		{"custom passes through", custom, custom},
		{"wrapped with %w", fmt.Errorf("user_edit: %w", ErrIncorrectPassword), ErrIncorrectPassword},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", custom)), custom},
		{"joined", errors.Join(io.EOF, ErrForbidden), ErrForbidden},
		{"unknown error", errors.New("pq: relation \"users\" does not exist"), ErrInternal},
		{"unknown wrapped error", fmt.Errorf("store: %w", io.ErrUnexpectedEOF), ErrInternal},
		{"wrapped with %v loses the type", fmt.Errorf("x: %v", ErrForbidden), ErrInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToWire(tt.err); got != tt.want {
				t.Errorf("ToWire(%v): got %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestToWireHidesInternalText(t *testing.T) {
	got := ErrorFrame(nil, ToWire(errors.New("dial tcp 10.0.0.5:5432: secret")))
	want := `{"response":{"error":{"status":500,"message":"Internal server error."}}}`
	if string(got) != want {
		t.Errorf("ErrorFrame(ToWire(internal)):\n got %s\nwant %s", got, want)
	}
}

func TestErrorIs(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"same sentinel", ErrBadFormat, ErrBadFormat, true},
		{"WithField copy matches its sentinel", ErrBadFormat.WithField("ping", "must be an object"), ErrBadFormat, true},
		{"WithField copy wrapped", fmt.Errorf("x: %w", ErrForbidden.WithField("cid", "not a participant")), ErrForbidden, true},
		{"equal value matches", &Error{Status: 401, Message: "Unauthorized."}, ErrUnauthorized, true},
		{"same status other message", ErrBadRequest, ErrBadFormat, false},
		{"404s differ by message", ErrNotSupported, ErrUnknownMethod, false},
		{"same message other status", &Error{Status: 500, Message: ErrBadRequest.Message}, ErrBadRequest, false},
		{"FieldRequired is not ErrBadRequest", FieldRequired("cid"), ErrBadRequest, false},
		{"FieldRequired matches same field", FieldRequired("cid"), FieldRequired("cid"), true},
		{"FieldRequired other field", FieldRequired("cid"), FieldRequired("uid"), false},
		{"non-wire target", ErrInternal, io.EOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errors.Is(tt.err, tt.target); got != tt.want {
				t.Errorf("errors.Is(%v, %v): got %v, want %v", tt.err, tt.target, got, tt.want)
			}
		})
	}
}

func TestWithFieldCopies(t *testing.T) {
	c := ErrForbidden.WithField("cid", "not a participant")
	if c == ErrForbidden {
		t.Fatal("WithField returned the sentinel itself, want a copy")
	}
	if ErrForbidden.Errors != nil {
		t.Errorf("sentinel modified: Errors = %v, want nil", ErrForbidden.Errors)
	}
	if c.Status != 403 || c.Message != "Forbidden." {
		t.Errorf("copy: got %d %q, want 403 \"Forbidden.\"", c.Status, c.Message)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status":403,"message":"Forbidden.","errors":{"cid":["not a participant"]}}`; string(b) != want {
		t.Errorf("json:\n got %s\nwant %s", b, want)
	}
}

func TestErrorJSONOmitsEmptyErrors(t *testing.T) {
	b, err := json.Marshal(ErrUnauthorized)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"status":401,"message":"Unauthorized."}`; string(b) != want {
		t.Errorf("json: got %s, want %s", b, want)
	}
	if got, want := ErrUnauthorized.Error(), "401 Unauthorized."; got != want {
		t.Errorf("Error(): got %q, want %q", got, want)
	}
}

func TestFieldRequired(t *testing.T) {
	e := FieldRequired("cid")
	if e.Status != 422 {
		t.Errorf("status: got %d, want 422", e.Status)
	}
	if want := "'cid' field is required."; e.Message != want {
		t.Errorf("message: got %q, want %q", e.Message, want)
	}
	if got := e.Errors["cid"]; len(got) != 1 {
		t.Errorf("errors[cid]: got %q, want one entry", got)
	}
}

func TestInvalid(t *testing.T) {
	e := Invalid("limit", "'limit' must be a number.")
	if e.Status != 422 || e.Message != "'limit' must be a number." {
		t.Errorf("got %d %q, want 422 \"'limit' must be a number.\"", e.Status, e.Message)
	}
	if got := e.Errors["limit"]; len(got) != 1 || got[0] != e.Message {
		t.Errorf("errors[limit]: got %q, want [%q]", got, e.Message)
	}
}

func TestUnknownMethodError(t *testing.T) {
	tests := []struct {
		method string
		want   *Error
	}{
		{"contact_match", ErrNotSupported},
		{"push_event_create", ErrNotSupported},
		{"push_subscription_create", ErrNotSupported},
		{"message_summary", ErrNotSupported},
		{"no_such_method", ErrUnknownMethod},
		{"constructor", ErrUnknownMethod},
		{"toString", ErrUnknownMethod},
		{"", ErrUnknownMethod},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			if got := UnknownMethodError(tt.method); got != tt.want {
				t.Errorf("UnknownMethodError(%q): got %v, want %v", tt.method, got, tt.want)
			}
		})
	}
	if ErrNotSupported.Status != 404 || ErrUnknownMethod.Status != 404 {
		t.Errorf("statuses: got %d and %d, want 404 and 404", ErrNotSupported.Status, ErrUnknownMethod.Status)
	}
}

// allCloseCodes lists every close code closecode.go defines.
var allCloseCodes = []struct {
	name       string
	code       int
	reconnects bool
}{
	{"CloseGoingAway", CloseGoingAway, true},
	{"CloseProtocolError", CloseProtocolError, true},
	{"ClosePolicy", ClosePolicy, true},
	{"CloseTooBig", CloseTooBig, true},
	{"CloseServiceRestart", CloseServiceRestart, true},
	{"CloseSlowConsumer", CloseSlowConsumer, true},
	{"CloseKeepaliveTimeout", CloseKeepaliveTimeout, true},
	{"CloseFlood", CloseFlood, true},
	{"CloseLoggedOut", CloseLoggedOut, false},
	{"CloseUserDeleted", CloseUserDeleted, false},
	{"CloseSessionRevoked", CloseSessionRevoked, false},
	{"CloseSessionExpired", CloseSessionExpired, false},
}

func TestCloseCodes(t *testing.T) {
	seen := map[int]string{}
	for _, c := range allCloseCodes {
		t.Run(c.name, func(t *testing.T) {
			if prev, dup := seen[c.code]; dup {
				t.Errorf("code %d: also used by %s", c.code, prev)
			}
			seen[c.code] = c.name
			r := CloseReason(c.code)
			if r == "" {
				t.Errorf("CloseReason(%d): got empty, want a reason", c.code)
			}
			// RFC 6455 §5.5: control frame payload <= 125 bytes, 2 of them the code.
			if len(r) >= 123 {
				t.Errorf("CloseReason(%d): got %d bytes, want < 123", c.code, len(r))
			}
			if got := CloseReconnects(c.code); got != c.reconnects {
				t.Errorf("CloseReconnects(%d): got %v, want %v", c.code, got, c.reconnects)
			}
			// The documented ranges: 1000-1015 standard, 4000-4099
			// reconnect, 4100-4199 terminal.
			switch {
			case c.code >= 1000 && c.code <= 1015, c.code >= 4000 && c.code <= 4099:
				if !c.reconnects {
					t.Errorf("code %d is in a reconnect range but marked terminal", c.code)
				}
			case c.code >= 4100 && c.code <= 4199:
				if c.reconnects {
					t.Errorf("code %d is in the terminal range but marked reconnect", c.code)
				}
			default:
				t.Errorf("code %d is outside every documented range", c.code)
			}
		})
	}
}

func TestCloseReconnectsRanges(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{1000, true}, {1001, true}, {1011, true}, {1015, true},
		{4000, true}, {4050, true}, {4099, true},
		{4100, false}, {4150, false}, {4199, false},
		{4200, true},
	}
	for _, tt := range tests {
		if got := CloseReconnects(tt.code); got != tt.want {
			t.Errorf("CloseReconnects(%d): got %v, want %v", tt.code, got, tt.want)
		}
	}
	if got := CloseReason(4999); got != "" {
		t.Errorf("CloseReason(4999): got %q, want empty for an undefined code", got)
	}
}

// typicalFrame is what most traffic looks like: a wrapped request with an id.
var typicalFrame = []byte(`{"request":{"message_list":{"cid":"65f0c1a2b3c4d5e6f7a8b9c0","limit":20},"id":"5d1c7e2a-list"}}`)

func TestDecodeAllocs(t *testing.T) {
	var err error
	got := testing.AllocsPerRun(200, func() { _, err = Decode(typicalFrame) })
	if err != nil {
		t.Fatal(err)
	}
	// Measured 24 allocs/op (go1.26, plain and -race): two map[string]RawMessage
	// decodes of the envelope, key strings, RawMessage copies. 36 is 1.5x
	// that; passing it means Decode grew a new allocation per frame.
	const maxAllocs = 36
	if got > maxAllocs {
		t.Errorf("Decode(typical frame): got %v allocs/op, want <= %v", got, maxAllocs)
	}
}

// Decode must not copy or reformat params: a handler unmarshals them again.
func TestDecodeParamsAreValidJSON(t *testing.T) {
	req, err := Decode(typicalFrame)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(req.Params, &p); err != nil {
		t.Fatalf("params %s: %v", req.Params, err)
	}
	if !bytes.Contains(typicalFrame, req.Params) {
		t.Errorf("params %s are not a verbatim part of the frame", req.Params)
	}
}
