package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
//
// The frame is validated once (json.Valid) and its envelope then read by a
// scanner that finds the members' spans without building maps: decoding
// each level into a map[string]json.RawMessage validated the frame again
// and allocated per member, 10 % of a node's CPU under connect churn (issue
// 11). Member semantics are those of decoding into a map: a repeated key
// keeps its last value, and keys are unescaped (FuzzDecodeMatchesMaps
// compares the two on every input). ID and Params are copies: the caller's
// frame buffer may be reused once it returns.
func Decode(frame []byte) (Request, error) {
	var req Request
	frame = bytes.TrimSpace(frame) // Unicode space too, as before
	if !json.Valid(frame) {
		return req, ErrBadFormat
	}
	frame = bytes.Clone(frame)
	top, ok := members(frame)
	if !ok {
		return req, ErrBadFormat
	}
	req.ID = top.get("id")
	method, params, err := top.onlyMethod()
	if err != nil {
		return req, err
	}
	if method == "request" {
		inner, ok := members(params)
		if !ok {
			return req, ErrBadFormat
		}
		if id := inner.get("id"); id != nil {
			req.ID = id
		}
		req.Wrapped = true
		method, params, err = inner.onlyMethod()
		if err != nil {
			return req, err
		}
	}
	if method == "request" {
		return req, ErrBadFormat
	}
	if bytes.Equal(params, nullJSON) {
		params = json.RawMessage("{}")
	}
	if len(params) == 0 || params[0] != '{' && !(params[0] == '[' && arrayParams[method]) {
		return req, ErrBadFormat.WithField(method, "must be an object")
	}
	req.Method = method
	req.Params = params
	return req, nil
}

// member is one member of a JSON object: its unescaped key and the exact
// bytes of its value.
type member struct {
	key string
	val json.RawMessage
}

// objectMembers are an object's members, a repeated key once with its last
// value, in the order of their first appearance.
type objectMembers []member

func (m objectMembers) get(key string) json.RawMessage {
	if i := m.index(key); i >= 0 {
		return m[i].val
	}
	return nil
}

// index is the position of key, or -1.
func (m objectMembers) index(key string) int {
	return slices.IndexFunc(m, func(x member) bool { return x.key == key })
}

// onlyMethod returns the one member whose key is not "id".
func (m objectMembers) onlyMethod() (string, json.RawMessage, error) {
	var name string
	var val json.RawMessage
	n := 0
	for _, x := range m {
		if x.key != "id" {
			name, val = x.key, x.val
			n++
		}
	}
	switch {
	case n > 1:
		return "", nil, ErrManyMethods
	case n == 0 || name == "":
		return "", nil, ErrNoMethod
	}
	return name, val, nil
}

// members reads the members of data, which must be valid JSON (json.Valid);
// ok is false when it is not an object.
func members(data []byte) (out objectMembers, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return nil, false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return out, true
	}
	for i < len(data) {
		end := skipString(data, i)
		key, ok := unquoteKey(data[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		start := i
		i = skipValue(data, i)
		val := json.RawMessage(data[start:i:i])
		if k := out.index(key); k >= 0 {
			out[k].val = val
		} else {
			out = append(out, member{key: key, val: val})
		}
		i = skipSpace(data, i)
		if i >= len(data) || data[i] == '}' {
			break
		}
		i = skipSpace(data, i+1) // the comma
	}
	return out, true
}

// unquoteKey turns a quoted key into its string as decoding into a map
// does: plain ASCII directly, anything else (escapes, other bytes, which
// json replaces when not valid UTF-8) through json.Unmarshal.
func unquoteKey(q []byte) (string, bool) {
	if len(q) < 2 || q[0] != '"' {
		return "", false
	}
	body := q[1 : len(q)-1]
	for _, c := range body {
		if c == '\\' || c >= 0x80 {
			var s string
			if err := json.Unmarshal(q, &s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return string(body), true
}

// skipSpace returns the index of the first non-space byte from i.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index after the string that starts at i.
func skipString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// skipValue returns the index after the value that starts at i (valid
// JSON): a string, an object or array with everything nested in it, or a
// literal or number, which ends at the first delimiter.
func skipValue(data []byte, i int) int {
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	}
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return i
		}
		i++
	}
	return i
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
