package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// CreateFiles implements store.Files.
func (s *DB) CreateFiles(ctx context.Context, fs []store.File) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("create files: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, f := range fs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO files (`+sqlrow.FileCols+`) VALUES (?,?,?,?,?,?,?,?)`,
			f.ID, f.OrgID, f.UploaderID, f.Name, f.Size, f.ContentType, sqlrow.MS(f.CreatedAt), sqlrow.MS(f.AttachedAt)); err != nil {
			return fmt.Errorf("create files: %w", mapErr(err))
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create files: %w", err)
	}
	return nil
}

// File implements store.Files.
func (s *DB) File(ctx context.Context, orgID, id string) (*store.File, error) {
	f, err := sqlrow.File(s.queryRow(ctx, `SELECT `+sqlrow.FileCols+` FROM files WHERE id = ? AND org_id = ?`, id, orgID))
	if err != nil {
		return nil, fmt.Errorf("load file: %w", mapErr(err))
	}
	return f, nil
}

// LinkFiles implements store.Files.
func (s *DB) LinkFiles(ctx context.Context, cid, mid string, fileIDs []string, at time.Time) error {
	tx, err := s.begin(ctx)
	if err != nil {
		return fmt.Errorf("link files: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, id := range fileIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO file_links (file_id, conversation_id, message_id, created_at)
			VALUES (?,?,?,?) ON CONFLICT (file_id, message_id) DO NOTHING`, id, cid, mid, sqlrow.MS(at)); err != nil {
			return fmt.Errorf("link files: %w", mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, `UPDATE files SET attached_at = ? WHERE id = ? AND attached_at = 0`,
			sqlrow.MS(at), id); err != nil {
			return fmt.Errorf("link files: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("link files: %w", err)
	}
	return nil
}

// CanReadFile implements store.Files.
func (s *DB) CanReadFile(ctx context.Context, orgID, userID, id string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM files f WHERE f.id = ? AND f.org_id = ? AND (f.uploader_id = ?
		OR EXISTS (SELECT 1 FROM file_links l JOIN participants p ON p.conversation_id = l.conversation_id
			JOIN messages m ON m.id = l.message_id AND m.conversation_id = l.conversation_id
			WHERE l.file_id = f.id AND p.user_id = ?))`, id, orgID, userID, userID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("check file access: %w", err)
	}
	return n > 0, nil
}

// UnattachedFiles implements store.Files.
func (s *DB) UnattachedFiles(ctx context.Context, before time.Time, limit int) ([]store.File, error) {
	rows, err := s.query(ctx, `SELECT `+sqlrow.FileCols+` FROM files WHERE attached_at = 0 AND created_at < ?
		ORDER BY created_at LIMIT ?`, sqlrow.MS(before), limit)
	if err != nil {
		return nil, fmt.Errorf("list unattached files: %w", err)
	}
	defer rows.Close()
	out := []store.File{}
	for rows.Next() {
		f, err := sqlrow.File(rows)
		if err != nil {
			return nil, fmt.Errorf("list unattached files: %w", err)
		}
		out = append(out, *f)
	}
	return out, rows.Err()
}

// DeleteUnattachedFile implements store.Files.
func (s *DB) DeleteUnattachedFile(ctx context.Context, id string) (bool, error) {
	r, err := s.exec(ctx, `DELETE FROM files WHERE id = ? AND attached_at = 0`, id)
	if err != nil {
		return false, fmt.Errorf("delete file: %w", err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("delete file: %w", err)
	}
	return n > 0, nil
}
