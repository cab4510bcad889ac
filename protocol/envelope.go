package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Request is one decoded inbound frame.
//
// The method is the one key that is not "id", at top level or inside
// "request", in any key order (PROTOCOL.md decision 1; SAMA takes the first key,
// so {"request":{"id":"1","ping":{}}} broke there and works here).
type Request struct {
	// Method is the method key, e.g. "connect" or "message".
	Method string
	// ID is the request id exactly as sent (any JSON value), or nil when
	// absent: request.id for wrapped requests, the top-level id otherwise.
	ID json.RawMessage
	// Params is the method's value, always a JSON object ("{}" for null).
	Params json.RawMessage
	// Wrapped is true when the frame was {"request":{...}}.
	Wrapped bool
}

var nullJSON = []byte("null")

// Decode parses one frame. It never panics; every failure is a *Error with the
// status a client should see (400 for malformed input).
func Decode(frame []byte) (Request, error) {
	var req Request
	top, err := object(frame)
	if err != nil {
		return req, ErrBadFormat
	}
	req.ID = top["id"]
	method, params, err := onlyMethod(top)
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
		method, params, err = onlyMethod(inner)
		if err != nil {
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
	req.Method = method
	req.Params = params
	return req, nil
}

// object decodes a JSON object into its raw members.
func object(data []byte) (map[string]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, errors.New("not a json object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// onlyMethod returns the one member whose key is not "id".
func onlyMethod(m map[string]json.RawMessage) (string, json.RawMessage, error) {
	var name string
	var n int
	for k := range m {
		if k != "id" {
			name = k
			n++
		}
	}
	// n > 1 first: name is the last key in map order, so with {"":..,"ping":..}
	// checking name == "" first would make the error depend on that order.
	switch {
	case n > 1:
		return "", nil, ErrManyMethods
	case n == 0 || name == "":
		return "", nil, ErrNoMethod
	}
	return name, m[name], nil
}

// Field is one member of an encoded object, kept in the given order.
type Field struct {
	Key   string
	Value any
}

// F is shorthand for Field{key, value}.
func F(key string, value any) Field { return Field{Key: key, Value: value} }

// Response encodes {"response":{"id":<id>, fields...}}; the id is omitted when nil.
func Response(id json.RawMessage, fields ...Field) ([]byte, error) {
	return wrap("response", id, fields)
}

// Ask encodes {"ask":{fields...}}, the reply to message and system_message.
func Ask(fields ...Field) ([]byte, error) {
	return wrap("ask", nil, fields)
}

// Event encodes an event pushed to a socket: {"<name>": payload}.
func Event(name string, payload any) ([]byte, error) {
	return wrap(name, nil, []Field{{Key: "", Value: payload}})
}

// ErrorReply encodes the one error reply to req. Wrapped requests get
// {"response":{"id":..,"error":E}}; top-level ones get SAMA's
// {"<method>":{"id":..,"error":E}} with the method's own id when it has one.
func (r Request) ErrorReply(e *Error) []byte {
	if r.Method == "" || r.Wrapped {
		return errorFrame("response", r.ID, e)
	}
	// SAMA echoes json[K].id, the exact key "id" inside the method object. A
	// map, not a struct: encoding/json matches struct fields case-insensitively,
	// so {"message":{"ID":..}} would echo the wrong value. Read here, on the
	// error path, so Decode does not pay for it.
	var p map[string]json.RawMessage
	id := r.ID
	if json.Unmarshal(r.Params, &p) == nil && len(p["id"]) > 0 && !bytes.Equal(p["id"], nullJSON) {
		id = p["id"]
	}
	return errorFrame(r.Method, id, e)
}

// ErrorFrame encodes an error reply to a frame that could not be decoded:
// {"response":{"error":E}}, with the id when one could be read.
func ErrorFrame(id json.RawMessage, e *Error) []byte {
	return errorFrame("response", id, e)
}

func errorFrame(kind string, id json.RawMessage, e *Error) []byte {
	b, err := wrap(kind, id, []Field{{Key: "error", Value: e}})
	if err != nil {
		// Only reachable when id is invalid JSON, which Decode never yields.
		b, _ = wrap(kind, nil, []Field{{Key: "error", Value: e}})
	}
	return b
}

// wrap encodes {"<kind>":{"id":id, fields...}}. A single field with an empty
// key is encoded as the whole inner value.
func wrap(kind string, id json.RawMessage, fields []Field) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(64)
	buf.WriteByte('{')
	if err := writeKey(&buf, kind); err != nil {
		return nil, err
	}
	if len(fields) == 1 && fields[0].Key == "" && id == nil {
		if err := writeValue(&buf, fields[0].Value); err != nil {
			return nil, fmt.Errorf("encode %s: %w", kind, err)
		}
		buf.WriteByte('}')
		return buf.Bytes(), nil
	}
	buf.WriteByte('{')
	first := true
	if id != nil {
		if !json.Valid(id) {
			return nil, errors.New("encode id: invalid json")
		}
		buf.WriteString(`"id":`)
		buf.Write(id)
		first = false
	}
	for _, f := range fields {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		if err := writeKey(&buf, f.Key); err != nil {
			return nil, err
		}
		if err := writeValue(&buf, f.Value); err != nil {
			return nil, fmt.Errorf("encode %s.%s: %w", kind, f.Key, err)
		}
	}
	buf.WriteString("}}")
	return buf.Bytes(), nil
}

func writeKey(buf *bytes.Buffer, key string) error {
	k, err := json.Marshal(key)
	if err != nil {
		return err
	}
	buf.Write(k)
	buf.WriteByte(':')
	return nil
}

func writeValue(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case json.RawMessage:
		if !json.Valid(v) {
			return errors.New("invalid raw json")
		}
		buf.Write(v)
		return nil
	case bool:
		if v {
			buf.WriteString("true")
		} else {
			buf.WriteString("false")
		}
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}
