package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFlexString(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    FlexString
		wantErr bool
	}{
		{"string", `"4144437576"`, "4144437576", false},
		{"string with escapes", `"a\"b\u00e9"`, `a"bé`, false},
		{"empty string", `""`, "", false},
		{"integer", `4144437576`, "4144437576", false},
		{"negative integer", `-7`, "-7", false},
		{"number kept as written", `1.5e3`, "1.5e3", false},
		{"large integer not rounded", `12345678901234567890`, "12345678901234567890", false},
		{"null is empty", `null`, "", false},
		{"bool is an error", `true`, "", true},
		{"false is an error", `false`, "", true},
		{"object is an error", `{"a":1}`, "", true},
		{"array is an error", `["x"]`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := FlexString("prev")
			err := json.Unmarshal([]byte(tt.in), &f)
			if tt.wantErr {
				if err == nil {
					t.Errorf("Unmarshal(%s): got %q, want an error", tt.in, f)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): got error %v", tt.in, err)
			}
			if f != tt.want {
				t.Errorf("Unmarshal(%s): got %q, want %q", tt.in, f, tt.want)
			}
		})
	}
}

// In a struct, as handlers use it: absent and null leave "", both forms of
// device_id give the same string.
func TestFlexStringInStruct(t *testing.T) {
	type params struct {
		DeviceID FlexString `json:"device_id"`
	}
	for in, want := range map[string]FlexString{
		`{"device_id":"42"}`: "42",
		`{"device_id":42}`:   "42",
		`{"device_id":null}`: "",
		`{}`:                 "",
	} {
		var p params
		if err := DecodeParams(json.RawMessage(in), &p); err != nil {
			t.Errorf("DecodeParams(%s): %v", in, err)
		} else if p.DeviceID != want {
			t.Errorf("DecodeParams(%s): got %q, want %q", in, p.DeviceID, want)
		}
	}
}

func TestTime(t *testing.T) {
	ref := time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC)
	tests := []struct {
		name    string
		in      string
		want    time.Time
		wantErr bool
	}{
		{"ISO with ms, as emitted", `"2024-01-02T03:04:05.678Z"`, ref, false},
		{"ISO with offset", `"2024-01-02T05:04:05.678+02:00"`, ref, false},
		{"ISO without fraction", `"2024-01-02T03:04:05Z"`, ref.Truncate(time.Second), false},
		{"date only", `"2024-01-02"`, time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), false},
		{"epoch ms number", `1704164645678`, ref, false},
		{"epoch ms numeric string", `"1704164645678"`, ref, false},
		{"numeric string with spaces", `" 1704164645678 "`, ref, false},
		{"zero ms", `0`, time.UnixMilli(0).UTC(), false},
		{"null is the zero time", `null`, time.Time{}, false},
		{"words", `"yesterday"`, time.Time{}, true},
		{"empty string", `""`, time.Time{}, true},
		{"fractional number", `1.5`, time.Time{}, true},
		{"bool", `true`, time.Time{}, true},
		{"object", `{"gt":1}`, time.Time{}, true},
		{"bad month", `"2024-13-01T00:00:00Z"`, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Time
			err := json.Unmarshal([]byte(tt.in), &got)
			if tt.wantErr {
				if err == nil {
					t.Errorf("Unmarshal(%s): got %v, want an error", tt.in, got.Time)
				}
				return
			}
			if err != nil {
				t.Fatalf("Unmarshal(%s): got error %v", tt.in, err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Unmarshal(%s): got %v, want %v", tt.in, got.Time, tt.want)
			}
			if !got.IsZero() && got.Location() != time.UTC {
				t.Errorf("Unmarshal(%s): location %v, want UTC", tt.in, got.Location())
			}
		})
	}
}

// A value of the wrong type becomes a 422 that names the field (the path for
// a nested one), including for the FlexString and Time types of this package.
func TestDecodeParamsWrongType(t *testing.T) {
	type params struct {
		CID       string     `json:"cid"`
		Limit     int        `json:"limit"`
		Ids       []string   `json:"ids"`
		DeviceID  FlexString `json:"device_id"`
		UpdatedAt struct {
			Gt *Time `json:"gt"`
		} `json:"updated_at"`
	}
	tests := []struct {
		name  string
		in    string
		field string
	}{
		{"string for int", `{"limit":"20"}`, "limit"},
		{"number for string", `{"cid":5}`, "cid"},
		{"object for string", `{"cid":{"$ne":""}}`, "cid"},
		{"string for array", `{"ids":"a"}`, "ids"},
		{"number in string array", `{"ids":["a",1]}`, "ids"},
		{"float for int", `{"limit":1.5}`, "limit"},
		{"overflowing int", `{"limit":1e100}`, "limit"},
		{"bool for FlexString", `{"device_id":true}`, "device_id"},
		{"object for FlexString", `{"device_id":{}}`, "device_id"},
		{"nested field", `{"updated_at":{"gt":"not a date"}}`, "updated_at.gt"},
		{"bool for Time", `{"updated_at":{"gt":false}}`, "updated_at.gt"},
		{"string for nested object", `{"updated_at":"x"}`, "updated_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p params
			err := DecodeParams(json.RawMessage(tt.in), &p)
			var we *Error
			if !errors.As(err, &we) {
				t.Fatalf("DecodeParams(%s): got %v, want a *Error", tt.in, err)
			}
			if we.Status != 422 {
				t.Errorf("status: got %d, want 422", we.Status)
			}
			if want := "'" + tt.field + "' has an incorrect type."; we.Message != want {
				t.Errorf("message: got %q, want %q", we.Message, want)
			}
			if len(we.Errors[tt.field]) != 1 {
				t.Errorf("errors: got %v, want one entry for %q", we.Errors, tt.field)
			}
			if strings.Contains(we.Message, "protocol.") || strings.Contains(we.Message, "Go ") {
				t.Errorf("message leaks Go type names: %q", we.Message)
			}
		})
	}
}

func TestDecodeParamsOK(t *testing.T) {
	var p struct {
		CID   string `json:"cid"`
		Limit int    `json:"limit"`
	}
	// Unknown fields are ignored so newer clients keep working.
	if err := DecodeParams(json.RawMessage(`{"cid":"c1","limit":5,"new_field":[1]}`), &p); err != nil {
		t.Fatalf("DecodeParams: %v", err)
	}
	if p.CID != "c1" || p.Limit != 5 {
		t.Errorf("DecodeParams: got %+v", p)
	}
	if err := DecodeParams(json.RawMessage(`{}`), &p); err != nil {
		t.Errorf("DecodeParams({}): %v", err)
	}
}

func TestDeviceID(t *testing.T) {
	long := FlexString(strings.Repeat("d", MaxDeviceIDLen))
	if got, err := DeviceID(long); err != nil || got != string(long) {
		t.Errorf("DeviceID(%d bytes): got %q, %v; want it back", MaxDeviceIDLen, got, err)
	}
	if got, err := DeviceID("4144437576"); err != nil || got != "4144437576" {
		t.Errorf("DeviceID: got %q, %v", got, err)
	}
	if _, err := DeviceID(""); !errors.Is(err, ErrDeviceIDRequired) {
		t.Errorf("DeviceID(\"\"): got %v, want ErrDeviceIDRequired", err)
	}
	_, err := DeviceID(long + "d")
	var we *Error
	if !errors.As(err, &we) || we.Status != 422 || len(we.Errors["device_id"]) != 1 {
		t.Errorf("DeviceID(too long): got %#v, want a 422 naming device_id", err)
	}
}
