package files

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Config tunes the files service. The zero value works (with a Storage).
type Config struct {
	// MaxUploadBytes caps the declared size of one file. Default 25 MiB
	// (the local-disk backend receives a body in memory before writing it).
	MaxUploadBytes int64
	// URLTTL is how long upload and download URLs work. Default 1h.
	URLTTL time.Duration
	// UnattachedTTL is how long a file no message carries is kept.
	// Default 24h.
	UnattachedTTL time.Duration
	// CollectInterval is how often unattached files are looked for.
	// Default 10m.
	CollectInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// MaxFiles is SAMA's limit on create_files, get_file_urls and, in
// samagate, on the attachments of one message.
const MaxFiles = 10

// Service hands out upload and download URLs and decides who may use them.
type Service struct {
	cfg Config
	st  store.Files
	obj Storage
	log zerolog.Logger
}

// New returns the service over metadata st and object storage obj.
func New(st store.Files, obj Storage, cfg Config, log zerolog.Logger) *Service {
	if cfg.MaxUploadBytes <= 0 {
		cfg.MaxUploadBytes = 25 << 20
	}
	if cfg.URLTTL <= 0 {
		cfg.URLTTL = time.Hour
	}
	if cfg.UnattachedTTL <= 0 {
		cfg.UnattachedTTL = 24 * time.Hour
	}
	if cfg.CollectInterval <= 0 {
		cfg.CollectInterval = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, st: st, obj: obj, log: log}
}

// Declared is one file of create_files as its uploader described it.
type Declared struct {
	Name        string
	Size        int64
	ContentType string
}

// Created is one file of the create_files reply (SAMA's file object plus
// its upload_url); _id and object_id are both the file id.
type Created struct {
	ID          string `json:"_id"`
	ObjectID    string `json:"object_id"`
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	ContentType string `json:"content_type"`
	UploadURL   string `json:"upload_url"`
	CreatedAt   string `json:"created_at"`
	UpdatedAt   string `json:"updated_at"`
}

// Create records the files the user is about to upload and returns where
// to upload each. Sizes above MaxUploadBytes are refused here, before any
// byte moves.
func (s *Service) Create(ctx context.Context, orgID, userID string, decl []Declared) ([]Created, error) {
	if len(decl) > MaxFiles {
		return nil, protocol.ErrFileLimit
	}
	now := s.cfg.Now().UTC()
	fs := make([]store.File, 0, len(decl))
	out := make([]Created, 0, len(decl))
	for _, d := range decl {
		if d.Size > s.cfg.MaxUploadBytes {
			return nil, protocol.ErrFileSize.WithField("size", fmt.Sprintf("at most %d bytes", s.cfg.MaxUploadBytes))
		}
		f := store.File{ID: store.NewID(), OrgID: orgID, UploaderID: userID, Name: d.Name, Size: d.Size,
			ContentType: d.ContentType, CreatedAt: now}
		u, err := s.obj.UploadURL(ctx, f.ID, f.ContentType, f.Size, s.cfg.URLTTL)
		if err != nil {
			return nil, err
		}
		at := now.Format(time.RFC3339Nano)
		fs = append(fs, f)
		out = append(out, Created{ID: f.ID, ObjectID: f.ID, Name: f.Name, Size: f.Size, ContentType: f.ContentType,
			UploadURL: u, CreatedAt: at, UpdatedAt: at})
	}
	if len(fs) > 0 {
		if err := s.st.CreateFiles(ctx, fs); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// URLs returns download URLs of the files among ids that the user may
// read: their own uploads, and files carried by a message of a conversation
// they are a member of. Others (unknown, of another organization, never
// shared with the user) are left out of the map, all alike, so the reply
// says nothing about files the user cannot read.
func (s *Service) URLs(ctx context.Context, orgID, userID string, ids []string) (map[string]string, error) {
	if len(ids) == 0 {
		return nil, protocol.ErrFileIDsMissed
	}
	if len(ids) > MaxFiles {
		return nil, protocol.ErrFileIDsExceeded
	}
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		if !validKey(id) {
			continue
		}
		ok, err := s.st.CanReadFile(ctx, orgID, userID, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		u, err := s.obj.DownloadURL(ctx, id, s.cfg.URLTTL)
		if err != nil {
			return nil, err
		}
		out[id] = u
	}
	return out, nil
}

// Run deletes unattached files every CollectInterval until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.CollectInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.Collect(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn().Err(err).Msg("collect unattached files")
			} else if n > 0 {
				s.log.Info().Int("files", n).Msg("deleted unattached files")
			}
		}
	}
}

// Collect deletes the files no message carried within UnattachedTTL of
// their creation (objects first, then metadata) and returns how many.
func (s *Service) Collect(ctx context.Context) (int, error) {
	before := s.cfg.Now().Add(-s.cfg.UnattachedTTL)
	n := 0
	for {
		fs, err := s.st.UnattachedFiles(ctx, before, 100)
		if err != nil {
			return n, err
		}
		for _, f := range fs {
			if err := s.remove(ctx, f.ID); err != nil {
				return n, err
			}
			n++
		}
		if len(fs) < 100 {
			return n, nil
		}
	}
}

// remove deletes an unattached file: its metadata first, only while no
// message carries it (a message may attach it at this moment), then its
// object.
func (s *Service) remove(ctx context.Context, id string) error {
	ok, err := s.st.DeleteUnattachedFile(ctx, id)
	if err != nil || !ok {
		return err
	}
	if err := s.obj.Delete(ctx, id); err != nil && !errors.Is(err, ErrNoObject) {
		return fmt.Errorf("delete file %s: %w", id, err)
	}
	return nil
}

// MaxUploadBytes is the largest file the service accepts.
func (s *Service) MaxUploadBytes() int64 { return s.cfg.MaxUploadBytes }
