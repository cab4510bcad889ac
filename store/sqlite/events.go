package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// Events implements store.Messages with two indexed range scans on pos, the
// conversations' (from each member's joined_pos) and the user's, merged in
// pos order.
func (s *DB) Events(ctx context.Context, q store.EventQuery) ([]store.Event, error) {
	until, after, before := sqlrow.EventBounds(q)
	order := `ASC`
	if q.Newest {
		order = `DESC`
	}
	rows, err := s.query(ctx, `SELECT `+sqlrow.EventCols+` FROM (
			SELECT e.* FROM participants p JOIN events e ON e.conversation_id = p.conversation_id AND e.pos >= p.joined_pos
			WHERE p.user_id = ?1 AND e.pos > ?2 AND e.pos <= ?3 AND e.created_at > ?4 AND e.created_at < ?5 AND e.payload <> ''
			UNION ALL
			SELECT e.* FROM events e
			WHERE e.user_id = ?1 AND e.pos > ?2 AND e.pos <= ?3 AND e.created_at > ?4 AND e.created_at < ?5 AND e.payload <> ''
		) ORDER BY pos `+order+` LIMIT ?6`, q.UserID, q.After, until, after, before, q.Limit)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	es, err := scanEvents(rows)
	if err != nil {
		return nil, err
	}
	if q.Newest {
		slices.Reverse(es)
	}
	return es, nil
}

// EventPos implements store.Messages. COALESCE stops at the first value, so
// the scan over greater ids runs only for an id that is not in the log.
func (s *DB) EventPos(ctx context.Context, id string) (int64, bool, error) {
	var exact sql.NullInt64
	var pos int64
	err := s.queryRow(ctx, `SELECT x.pos, COALESCE(x.pos, (SELECT MIN(pos) - 1 FROM events WHERE id > ?1),
			(SELECT MAX(pos) FROM events), 0)
		FROM (SELECT (SELECT pos FROM events WHERE id = ?1) AS pos) AS x`, id).Scan(&exact, &pos)
	if err != nil {
		return 0, false, fmt.Errorf("event position: %w", err)
	}
	return pos, exact.Valid, nil
}

// scanEvents reads rows of sqlrow.EventCols and closes them.
func scanEvents(rows *sql.Rows) ([]store.Event, error) {
	defer rows.Close()
	return sqlrow.Events(rows)
}
