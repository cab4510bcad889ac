package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// decodeWithMaps is the envelope decoder Decode replaced, which read each
// level into a map[string]json.RawMessage: the reference of the map
// semantics Decode keeps.
func decodeWithMaps(frame []byte) (Request, error) {
	var req Request
	object := func(data []byte) (map[string]json.RawMessage, error) {
		data = bytes.TrimSpace(data)
		if len(data) == 0 || data[0] != '{' {
			return nil, errors.New("not a json object")
		}
		var m map[string]json.RawMessage
		return m, json.Unmarshal(data, &m)
	}
	only := func(m map[string]json.RawMessage) (string, json.RawMessage, error) {
		var name string
		n := 0
		for k := range m {
			if k != "id" {
				name = k
				n++
			}
		}
		switch {
		case n > 1:
			return "", nil, ErrManyMethods
		case n == 0 || name == "":
			return "", nil, ErrNoMethod
		}
		return name, m[name], nil
	}
	top, err := object(frame)
	if err != nil {
		return req, ErrBadFormat
	}
	req.ID = top["id"]
	method, params, err := only(top)
	if err != nil {
		return req, err
	}
	if method == "request" {
		inner, err := object(params)
		if err != nil {
			return req, ErrBadFormat
		}
		if id, ok := inner["id"]; ok {
			req.ID = id
		}
		req.Wrapped = true
		if method, params, err = only(inner); err != nil {
			return req, err
		}
	}
	if method == "request" {
		return req, ErrBadFormat
	}
	params = bytes.TrimSpace(params)
	if bytes.Equal(params, nullJSON) {
		params = json.RawMessage("{}")
	}
	if len(params) == 0 || params[0] != '{' {
		return req, ErrBadFormat.WithField(method, "must be an object")
	}
	req.Method, req.Params = method, params
	return req, nil
}

// sameDecode fails t unless Decode and decodeWithMaps agree on frame.
func sameDecode(t *testing.T, frame []byte) {
	t.Helper()
	got, gerr := Decode(frame)
	want, werr := decodeWithMaps(frame)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("Decode(%q): error %v, maps give %v", frame, gerr, werr)
	}
	if gerr != nil {
		return
	}
	if got.Method != want.Method || got.Wrapped != want.Wrapped || !bytes.Equal(got.ID, want.ID) || !bytes.Equal(got.Params, want.Params) {
		t.Fatalf("Decode(%q) = %+v, maps give %+v", frame, got, want)
	}
}

// TestDecodeMatchesMaps: the scanner reads envelopes as decoding into maps
// did, on the tricky cases: repeated keys, escaped and non-ASCII keys,
// whitespace everywhere, nested values with brackets in strings, ids of
// every JSON type, null and non-object params.
func TestDecodeMatchesMaps(t *testing.T) {
	for _, f := range append(append([]string{}, seedFrames...),
		`{"ping":{},"ping":{"a":1}}`,
		`{"ping":{},"id":1,"id":"2"}`,
		`{"\u0070ing":{}}`,
		`{"p\"ing":{}}`,
		"{\"p\xffng\":{}}",
		`{"pïng":{}}`,
		` { "request" : { "id" : [1, {"a":"}"}] , "message" : { "body" : "a,b}]\"" } } } `,
		`{"request":{"ping":null,"id":null}}`,
		`{"request":{"ping":[]}}`,
		`{"request":{"ping":"x"}}`,
		`{"request":{"request":{}}}`,
		`{"request":[]}`,
		`{"request":{"a":{},"b":{}}}`,
		`{"":{}}`,
		`{"id":true}`,
		`{"ping":{"x":1e5,"y":-0.5,"z":false}}`,
		`{}`,
		`[]`,
		`"x"`,
		`{"ping":{}} x`,
		"{\"ping\":{}}\n",
	) {
		sameDecode(t, []byte(f))
	}
}

// FuzzDecodeMatchesMaps: on any input, Decode and the map-based decoder
// agree.
func FuzzDecodeMatchesMaps(f *testing.F) {
	for _, s := range seedFrames {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) { sameDecode(t, frame) })
}

// TestDecodeCopies: what Decode returns does not alias the frame, whose
// buffer the transport reuses.
func TestDecodeCopies(t *testing.T) {
	frame := []byte(`{"request":{"message":{"body":"hi"},"id":"7"}}`)
	req, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	for i := range frame {
		frame[i] = ' '
	}
	if string(req.ID) != `"7"` || string(req.Params) != `{"body":"hi"}` {
		t.Fatalf("after the frame was overwritten: id %s, params %s", req.ID, req.Params)
	}
}

// BenchmarkDecodeEnvelope: a connect frame with a real-sized token and a
// message frame, read by Decode and by the map-based decoder it replaced.
func BenchmarkDecodeEnvelope(b *testing.B) {
	frames := map[string][]byte{
		"connect": []byte(`{"request":{"connect":{"token":"eyJhbGciOiJIUzI1NiIsImtpZCI6IjAxSjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwidHlwIjoiSldUIn0.` +
			`eyJfaWQiOiIwMUowMDAwMDAwMDAwMDAwMDAwMDAwMDAwMCIsInNpZCI6IjAxSjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwidHlwZSI6ImFjY2VzcyJ9.` +
			`c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl","device_id":"web-1"},"id":"c1"}}`),
		"message": []byte(`{"message":{"id":"m1","cid":"01J0000000000000000000000","body":"` + string(bytes.Repeat([]byte("x"), 100)) + `"}}`),
	}
	for name, f := range frames {
		b.Run(name+"/scanner", func(b *testing.B) {
			for b.Loop() {
				if _, err := Decode(f); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/maps", func(b *testing.B) {
			for b.Loop() {
				if _, err := decodeWithMaps(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
