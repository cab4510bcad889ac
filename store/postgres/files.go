package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// CreateFiles implements store.Files.
func (s *DB) CreateFiles(ctx context.Context, fs []store.File) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, f := range fs {
			if _, err := tx.Exec(ctx, `INSERT INTO files (`+sqlrow.FileCols+`) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)`,
				f.ID, f.OrgID, f.UploaderID, f.Name, f.Size, f.ContentType, sqlrow.MS(f.CreatedAt), sqlrow.MS(f.AttachedAt)); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create files: %w", err)
	}
	return nil
}

// File implements store.Files.
func (s *DB) File(ctx context.Context, orgID, id string) (*store.File, error) {
	f, err := sqlrow.File(s.pool.QueryRow(ctx, `SELECT `+sqlrow.FileCols+` FROM files WHERE id = $1 AND org_id = $2`, id, orgID))
	if err != nil {
		return nil, fmt.Errorf("load file: %w", mapErr(err))
	}
	return f, nil
}

// LinkFiles implements store.Files.
func (s *DB) LinkFiles(ctx context.Context, cid, mid string, fileIDs []string, at time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, id := range fileIDs {
			if _, err := tx.Exec(ctx, `INSERT INTO file_links (file_id, conversation_id, message_id, created_at)
				VALUES ($1,$2,$3,$4) ON CONFLICT (file_id, message_id) DO NOTHING`, id, cid, mid, sqlrow.MS(at)); err != nil {
				return mapErr(err)
			}
			if _, err := tx.Exec(ctx, `UPDATE files SET attached_at = $1 WHERE id = $2 AND attached_at = 0`,
				sqlrow.MS(at), id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("link files: %w", err)
	}
	return nil
}

// CanReadFile implements store.Files.
func (s *DB) CanReadFile(ctx context.Context, orgID, userID, id string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM files f WHERE f.id = $1 AND f.org_id = $2 AND (f.uploader_id = $3
		OR EXISTS (SELECT 1 FROM file_links l JOIN participants p ON p.conversation_id = l.conversation_id
			JOIN messages m ON m.id = l.message_id AND m.conversation_id = l.conversation_id
			WHERE l.file_id = f.id AND p.user_id = $3)))`, id, orgID, userID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check file access: %w", err)
	}
	return ok, nil
}

// UnattachedFiles implements store.Files.
func (s *DB) UnattachedFiles(ctx context.Context, before time.Time, limit int) ([]store.File, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlrow.FileCols+` FROM files WHERE attached_at = 0 AND created_at < $1
		ORDER BY created_at LIMIT $2`, sqlrow.MS(before), limit)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list unattached files: %w", err)
	}
	return out, nil
}

// DeleteUnattachedFile implements store.Files.
func (s *DB) DeleteUnattachedFile(ctx context.Context, id string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM files WHERE id = $1 AND attached_at = 0`, id)
	if err != nil {
		return false, fmt.Errorf("delete file: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}
