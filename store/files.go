package store

import (
	"context"
	"time"
)

// File is the metadata of one attachment: what its uploader declared at
// create_files (name, size, content type), who uploaded it in which
// organization, and since when a message carries it (zero: never, and
// the unattached-file collector deletes it after a day).
type File struct {
	ID          string
	OrgID       string
	UploaderID  string
	Name        string
	Size        int64
	ContentType string
	CreatedAt   time.Time
	AttachedAt  time.Time // zero until a message carries it
}

// Files stores attachment metadata and which conversations carry each file.
// The bytes live in object storage (package files), keyed by File.ID.
type Files interface {
	// CreateFiles stores fs in one transaction.
	CreateFiles(ctx context.Context, fs []File) error
	// File returns the file id of orgID; ErrNotFound when there is none.
	File(ctx context.Context, orgID, id string) (*File, error)
	// LinkFiles records that message mid of conversation cid carries each
	// of fileIDs and marks them attached at at, in one transaction. It may
	// run before the message is committed: a link grants nothing until its
	// message exists (and nothing once it is deleted).
	LinkFiles(ctx context.Context, cid, mid string, fileIDs []string, at time.Time) error
	// CanReadFile reports whether userID may download file id of orgID:
	// they uploaded it, or they are a participant of a conversation with a
	// stored message that carries it.
	CanReadFile(ctx context.Context, orgID, userID, id string) (bool, error)
	// UnattachedFiles lists at most limit files that no message carries,
	// created before before, oldest first.
	UnattachedFiles(ctx context.Context, before time.Time, limit int) ([]File, error)
	// DeleteUnattachedFile removes the file's metadata unless a message
	// carries it (atomically, so a file attached meanwhile stays) and
	// reports whether it did; an unknown id is (false, nil).
	DeleteUnattachedFile(ctx context.Context, id string) (bool, error)
}
