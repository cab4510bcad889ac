package files

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Route is the path prefix under which samagate serves Local's URLs.
const Route = "/files/"

// LocalConfig configures the local-disk storage. Dir is required.
type LocalConfig struct {
	// Dir holds the objects (one file per id, with its content type in
	// "<id>.type") and the URL-signing key ("url.key", made on first use).
	Dir string
	// BaseURL is the public origin of this node ("https://chat.example.com"),
	// the prefix of every URL. It may be set after construction
	// (SetBaseURL), once the listener's address is known.
	BaseURL string
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Local stores objects on the local disk and signs its own URLs: an HMAC
// over method, file id, expiry and, for uploads, the declared size and
// content type. Its Handler serves them. The path of an object comes only
// from the server-generated id (24 hex digits), never from a client's
// name, so no request can steer it.
type Local struct {
	dir  string
	key  []byte
	now  func() time.Time
	base atomic.Pointer[string]
}

var _ Storage = (*Local)(nil)

// NewLocal opens (creating if needed) the directory and its signing key.
func NewLocal(cfg LocalConfig) (*Local, error) {
	if cfg.Dir == "" {
		return nil, errors.New("local storage: no directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("local storage: %w", err)
	}
	key, err := loadOrCreateKey(filepath.Join(cfg.Dir, "url.key"))
	if err != nil {
		return nil, fmt.Errorf("local storage: %w", err)
	}
	l := &Local{dir: cfg.Dir, key: key, now: cfg.Now}
	if l.now == nil {
		l.now = time.Now
	}
	l.SetBaseURL(cfg.BaseURL)
	return l, nil
}

// SetBaseURL sets the public origin URLs start with.
func (l *Local) SetBaseURL(u string) {
	u = strings.TrimRight(u, "/")
	l.base.Store(&u)
}

func loadOrCreateKey(path string) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) >= 32 {
		return b, nil
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read url key: %w", err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another node or process made it first
		return loadOrCreateKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("create url key: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("write url key: %w", err)
	}
	return b, f.Close()
}

// validKey: file ids are 24 lowercase hex digits (store.NewID).
func validKey(k string) bool {
	if len(k) != 24 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (l *Local) sign(method, key string, exp int64, size int64, ctype string) string {
	m := hmac.New(sha256.New, l.key)
	fmt.Fprintf(m, "%s\n%s\n%d\n%d\n%s", method, key, exp, size, ctype)
	return hex.EncodeToString(m.Sum(nil))
}

// UploadURL implements Storage.
func (l *Local) UploadURL(_ context.Context, key, contentType string, size int64, ttl time.Duration) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("upload url: bad key %q", key)
	}
	exp := expiry(l.now(), ttl)
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "size": {strconv.FormatInt(size, 10)}, "type": {contentType},
		"sig": {l.sign(http.MethodPut, key, exp, size, contentType)}}
	return *l.base.Load() + Route + key + "?" + q.Encode(), nil
}

// DownloadURL implements Storage.
func (l *Local) DownloadURL(_ context.Context, key string, ttl time.Duration) (string, error) {
	if !validKey(key) {
		return "", fmt.Errorf("download url: bad key %q", key)
	}
	exp := expiry(l.now(), ttl)
	q := url.Values{"exp": {strconv.FormatInt(exp, 10)}, "sig": {l.sign(http.MethodGet, key, exp, 0, "")}}
	return *l.base.Load() + Route + key + "?" + q.Encode(), nil
}

func (l *Local) path(key string) string { return filepath.Join(l.dir, key) }

// Stat implements Storage.
func (l *Local) Stat(_ context.Context, key string) (Object, error) {
	if !validKey(key) {
		return Object{}, ErrNoObject
	}
	fi, err := os.Stat(l.path(key))
	if errors.Is(err, fs.ErrNotExist) {
		return Object{}, ErrNoObject
	} else if err != nil {
		return Object{}, fmt.Errorf("stat object: %w", err)
	}
	ct, err := os.ReadFile(l.path(key) + ".type")
	if errors.Is(err, fs.ErrNotExist) { // the upload is still finishing
		return Object{}, ErrNoObject
	} else if err != nil {
		return Object{}, fmt.Errorf("stat object: %w", err)
	}
	return Object{Size: fi.Size(), ContentType: string(ct)}, nil
}

// Delete implements Storage.
func (l *Local) Delete(_ context.Context, key string) error {
	if !validKey(key) {
		return nil
	}
	for _, p := range []string{l.path(key), l.path(key) + ".type"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete object: %w", err)
		}
	}
	return nil
}

// put stores body under key once: exactly size bytes, or nothing. The
// object appears whole (written to a temporary file, then linked), and an
// existing object is never replaced, so what members downloaded stays
// what was sent.
func (l *Local) put(key, ctype string, size int64, body io.Reader) (err error) {
	tmp, err := os.CreateTemp(l.dir, ".upload-*")
	if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	n, err := io.Copy(tmp, io.LimitReader(body, size+1))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	if n != size {
		return errSizeMismatch
	}
	if err := os.Link(tmp.Name(), l.path(key)); errors.Is(err, fs.ErrExist) {
		return errExists
	} else if err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	// The type is written last: until it exists, Stat says ErrNoObject.
	if err := os.WriteFile(l.path(key)+".type", []byte(ctype), 0o600); err != nil {
		return fmt.Errorf("put object: %w", err)
	}
	return nil
}

var (
	errSizeMismatch = errors.New("body size differs from the declared size")
	errExists       = errors.New("already uploaded")
)
