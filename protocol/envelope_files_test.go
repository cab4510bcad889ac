package protocol

import (
	"errors"
	"testing"
)

// TestDecodeArrayParams: create_files takes a bare array (SAMA's shape);
// every other method still needs an object.
func TestDecodeArrayParams(t *testing.T) {
	req, err := Decode([]byte(`{"request":{"create_files":[{"name":"a.png","size":1,"content_type":"image/png"}],"id":"1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != MethodCreateFiles || string(req.Params) != `[{"name":"a.png","size":1,"content_type":"image/png"}]` {
		t.Fatalf("got %s %s", req.Method, req.Params)
	}
	_, err = Decode([]byte(`{"request":{"get_file_urls":["x"],"id":"1"}}`))
	if !errors.Is(err, ErrBadFormat) {
		t.Fatalf("array params of get_file_urls: got %v, want %v", err, ErrBadFormat)
	}
}
