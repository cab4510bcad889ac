// Package files is samagate's attachments: create_files hands out upload
// URLs, get_file_urls download URLs, and messages carry the files by id.
// Metadata lives in the store (store.Files); the bytes live in a Storage:
// the local disk under the data directory (Local, the default; samagate
// serves the signed URLs itself) or S3-compatible object storage (S3,
// presigned URLs). Both pass one contract test (storage_test.go).
package files

import (
	"context"
	"errors"
	"mime"
	"strings"
	"time"
)

// ErrNoObject: nothing was uploaded under the key (yet).
var ErrNoObject = errors.New("no such object")

// Object is what a Storage holds under a key.
type Object struct {
	Size        int64
	ContentType string
}

// Storage holds the bytes of files, keyed by the server-generated file id.
// URLs it returns are absolute and stop working after ttl.
type Storage interface {
	// UploadURL is where a client PUTs the object (body of size bytes,
	// header Content-Type: contentType).
	UploadURL(ctx context.Context, key, contentType string, size int64, ttl time.Duration) (string, error)
	// DownloadURL is where a client GETs the object.
	DownloadURL(ctx context.Context, key string, ttl time.Duration) (string, error)
	// Stat reports what was uploaded under key; ErrNoObject when nothing.
	Stat(ctx context.Context, key string) (Object, error)
	// Delete removes the object; a missing one is not an error.
	Delete(ctx context.Context, key string) error
}

// sameType reports whether two content types name the same media type
// (case-insensitively, parameters ignored), so "image/png" matches
// "image/png; charset=binary" and SAMA's bare "image" matches "image".
func sameType(a, b string) bool {
	return strings.EqualFold(mediaType(a), mediaType(b))
}

func mediaType(s string) string {
	if mt, _, err := mime.ParseMediaType(s); err == nil {
		return mt
	}
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// expiry is now+ttl in unix seconds.
func expiry(now time.Time, ttl time.Duration) int64 { return now.Add(ttl).Unix() }
