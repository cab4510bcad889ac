package files

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Attach checks the attachments of message mid that userID sends to
// conversation cid (a member: the caller checked), records that the
// message carries their files, and returns the attachments to store.
//
// Each attachment is an object naming a file_id the sender may read (their
// own upload, or a file of a conversation they are in: a forward). Before
// a file is attached the first time, its object must exist with the size
// and content type declared at create_files; an upload that differs is
// deleted. file_name, file_size and file_content_type are set from the
// declaration, so recipients see what was checked; other keys (image
// dimensions, blur hash) pass through as the client sent them.
func (s *Service) Attach(ctx context.Context, orgID, userID, cid, mid string, raw json.RawMessage) (json.RawMessage, error) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil || len(items) == 0 || len(items) > MaxFiles {
		return nil, protocol.ErrAttachments
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		var id string
		if it == nil || json.Unmarshal(it["file_id"], &id) != nil || id == "" {
			return nil, protocol.ErrAttachments
		}
		f, err := s.attachable(ctx, orgID, userID, id)
		if err != nil {
			return nil, err
		}
		it["file_name"], _ = json.Marshal(f.Name)
		it["file_size"], _ = json.Marshal(f.Size)
		it["file_content_type"], _ = json.Marshal(f.ContentType)
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if err := s.st.LinkFiles(ctx, cid, mid, ids, s.cfg.Now().UTC()); err != nil {
		return nil, err
	}
	out, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("encode attachments: %w", err)
	}
	return out, nil
}

// attachable returns file id if userID may attach it, verifying its upload
// the first time.
func (s *Service) attachable(ctx context.Context, orgID, userID, id string) (*store.File, error) {
	if !validKey(id) {
		return nil, protocol.ErrFileNotFound
	}
	ok, err := s.st.CanReadFile(ctx, orgID, userID, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, protocol.ErrFileNotFound
	}
	f, err := s.st.File(ctx, orgID, id)
	if errors.Is(err, store.ErrNotFound) { // collected meanwhile
		return nil, protocol.ErrFileNotFound
	} else if err != nil {
		return nil, err
	}
	if !f.AttachedAt.IsZero() {
		return f, nil // checked when first attached
	}
	obj, err := s.obj.Stat(ctx, id)
	if errors.Is(err, ErrNoObject) {
		return nil, protocol.ErrFileNotUploaded
	} else if err != nil {
		return nil, err
	}
	if obj.Size != f.Size || !sameType(obj.ContentType, f.ContentType) {
		if err := s.remove(ctx, id); err != nil {
			s.log.Warn().Err(err).Str("file", id).Msg("delete mismatched upload")
		}
		return nil, protocol.ErrFileMismatch
	}
	return f, nil
}

// ParseCreate decodes create_files' params (a bare array of {name, size,
// content_type}) with SAMA's errors: more than MaxFiles, a missing or
// overlong name, a size that is not a whole non-negative number, a missing
// content type. A content type must also be a plain header value (no
// control characters), as it is sent back on every download.
func ParseCreate(params json.RawMessage) ([]Declared, error) {
	var items []map[string]json.RawMessage
	if err := json.Unmarshal(params, &items); err != nil || items == nil {
		return nil, protocol.FieldRequired("create_files")
	}
	if len(items) > MaxFiles {
		return nil, protocol.ErrFileLimit
	}
	out := make([]Declared, 0, len(items))
	for _, it := range items {
		var d Declared
		var size float64
		switch {
		case it == nil || json.Unmarshal(it["name"], &d.Name) != nil || d.Name == "" || len([]rune(d.Name)) > 255:
			return nil, protocol.ErrFileName
		case json.Unmarshal(it["size"], &size) != nil || it["size"] == nil || string(it["size"]) == "null" ||
			size < 0 || size != float64(int64(size)):
			return nil, protocol.ErrFileSize
		case json.Unmarshal(it["content_type"], &d.ContentType) != nil || !plainValue(d.ContentType):
			return nil, protocol.ErrFileContentType
		}
		d.Size = int64(size)
		out = append(out, d)
	}
	return out, nil
}

// plainValue: non-empty, at most 255 bytes, printable ASCII.
func plainValue(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
