package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// FlexString accepts a JSON string or number and keeps it as a string. SAMA
// clients send device_id and ids either way; stringifying once here means
// every path stores the same value (SAMA bug 11 fixed).
type FlexString string

// UnmarshalJSON implements json.Unmarshaler.
func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, nullJSON):
		*f = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return typeError(b, f, "must be a string or a number")
	}
	*f = FlexString(n.String())
	return nil
}

// Time accepts what SAMA clients send as a time bound: an ISO-8601 string
// (as emitted in created_at/updated_at), epoch milliseconds as a number, or a
// numeric string.
type Time struct{ time.Time }

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, nullJSON) {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	s = strings.TrimSpace(s)
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		t.Time = time.UnixMilli(ms).UTC()
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = v.UTC()
			return nil
		}
	}
	return typeError(b, t, "must be an ISO-8601 date or epoch milliseconds")
}

// typeError is the error of an UnmarshalJSON method for a value it cannot
// take. A *json.UnmarshalTypeError, so that encoding/json fills in the field's
// path and DecodeParams can name the field in its 422 (any other error type
// reaches DecodeParams without the field).
func typeError(b []byte, v any, why string) error {
	kind := "value"
	if len(b) > 0 {
		switch b[0] {
		case '"':
			kind = "string"
		case '{':
			kind = "object"
		case '[':
			kind = "array"
		case 't', 'f':
			kind = "bool"
		default:
			kind = "number"
		}
	}
	return &json.UnmarshalTypeError{Value: kind + " (" + why + ")", Type: reflect.TypeOf(v).Elem()}
}

// DecodeParams decodes a request's params into v. A value of the wrong type
// becomes a 422 naming the field; unknown fields are ignored, so newer
// clients keep working.
func DecodeParams(params json.RawMessage, v any) error {
	if err := json.Unmarshal(params, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Invalid(te.Field, fmt.Sprintf("'%s' has an incorrect type.", te.Field))
		}
		msg := "Invalid parameters: " + shortError(err)
		return &Error{Status: 422, Message: msg, Errors: map[string][]string{"params": {msg}}}
	}
	return nil
}

// shortError keeps a decoding error short and free of Go type names.
func shortError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	if len(msg) > 120 {
		msg = msg[:120]
	}
	return msg
}

// MaxDeviceIDLen is SAMA's limit on device_id (Joi string max 255).
const MaxDeviceIDLen = 255

// DeviceID validates a device_id the same way on the websocket and the HTTP
// side: required, at most MaxDeviceIDLen bytes.
func DeviceID(v FlexString) (string, error) {
	d := string(v)
	if d == "" {
		return "", ErrDeviceIDRequired
	}
	if len(d) > MaxDeviceIDLen {
		return "", Invalid("device_id", fmt.Sprintf("'device_id' max length %d", MaxDeviceIDLen))
	}
	return d, nil
}
