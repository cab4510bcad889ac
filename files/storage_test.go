package files_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/samagate/samagate/files"
	"github.com/samagate/samagate/store"
)

var ctx = context.Background()

// newLocal is local-disk storage served by an httptest server.
func newLocal(t *testing.T, now func() time.Time) (*files.Local, *http.Client) {
	t.Helper()
	l, err := files.NewLocal(files.LocalConfig{Dir: t.TempDir(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	l.SetBaseURL(srv.URL)
	return l, srv.Client()
}

// newS3 is S3 storage on gofakes3 (memory backend) on 127.0.0.1. gofakes3
// speaks the S3 protocol in-process, so the test needs no other service;
// it does not check signatures or expiry (real S3 and MinIO do), so what
// the contract checks of them is the Local backend's part.
func newS3(t *testing.T) (*files.S3, *http.Client) {
	t.Helper()
	fake := gofakes3.New(s3mem.New())
	srv := httptest.NewServer(fake.Server())
	t.Cleanup(srv.Close)
	s, err := files.NewS3(ctx, files.S3Config{Endpoint: srv.URL, Bucket: "samagate-test", AccessKey: "k",
		SecretKey: "s", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, srv.Client()
}

func TestStorageContract(t *testing.T) {
	t.Run("Local", func(t *testing.T) {
		l, c := newLocal(t, nil)
		storageContract(t, l, c)
	})
	t.Run("S3", func(t *testing.T) {
		s, c := newS3(t)
		storageContract(t, s, c)
	})
}

func do(t *testing.T, c *http.Client, method, url, ctype string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// storageContract: a PUT to an upload URL stores the bytes and type that
// Stat then reports and a download URL returns; Delete removes them (twice
// is fine); an upload of another size never shows as the declared one.
func storageContract(t *testing.T, st files.Storage, c *http.Client) {
	key := store.NewID()
	if _, err := st.Stat(ctx, key); !errors.Is(err, files.ErrNoObject) {
		t.Fatalf("Stat before upload: err %v, want ErrNoObject", err)
	}
	data := []byte("\x89PNG not really")
	up, err := st.UploadURL(ctx, key, "image/png", int64(len(data)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up, "http://") {
		t.Fatalf("upload URL %q is not absolute", up)
	}
	if code, b := do(t, c, http.MethodPut, up, "image/png", data); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, b)
	}
	obj, err := st.Stat(ctx, key)
	if err != nil || obj.Size != int64(len(data)) || !strings.HasPrefix(obj.ContentType, "image/png") {
		t.Fatalf("Stat = %+v, %v; want %d bytes of image/png", obj, err, len(data))
	}
	down, err := st.DownloadURL(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, b := do(t, c, http.MethodGet, down, "", nil); code != http.StatusOK || !bytes.Equal(b, data) {
		t.Fatalf("GET: %d %q, want 200 %q", code, b, data)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := st.Stat(ctx, key); !errors.Is(err, files.ErrNoObject) {
		t.Fatalf("Stat after Delete: err %v, want ErrNoObject", err)
	}
	if code, _ := do(t, c, http.MethodGet, down, "", nil); code == http.StatusOK {
		t.Fatal("GET after Delete succeeded")
	}

	// A body longer than declared: refused at upload, or visible to Stat
	// as another size (the service then refuses to attach it).
	big := store.NewID()
	up, err = st.UploadURL(ctx, big, "text/plain", 3, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := do(t, c, http.MethodPut, up, "text/plain", []byte("more than three"))
	if obj, err := st.Stat(ctx, big); code == http.StatusOK && err == nil && obj.Size == 3 {
		t.Fatalf("an oversized upload shows as the declared size: %+v", obj)
	}
}
