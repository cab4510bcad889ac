package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// nextPos is the first position of the next commit: the number after the
// largest one ever taken (sqlite_sequence keeps it when rows are pruned).
// Inside a write transaction no commit can take a number meanwhile.
const nextPos = `((COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'commits'), 0) + 1) << 16)`

// Commit implements store.Messages: one transaction (one fsync under WAL)
// that takes the next number of commits and writes every batch with the
// positions sqlrow.PlanCommit gives. SQLite has one writer, so numbers
// become visible in order; a failed transaction rolls its number back with
// it (AUTOINCREMENT's counter is in the transaction), and the next commit
// takes it again: no number is ever burned, so Commit never returns
// store.AbortedError. Every failure rolled back (store.ErrRolledBack): the
// database is in this process.
func (s *DB) Commit(ctx context.Context, batches []*store.Batch) (*store.Committed, error) {
	c, err := s.commit(ctx, batches)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrRolledBack, err)
	}
	return c, nil
}

func (s *DB) commit(ctx context.Context, batches []*store.Batch) (*store.Committed, error) {
	plan, err := sqlrow.PlanCommit(batches)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	changed, err := sqlrow.ChangedList(plan.Changed)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	var seq int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO commits (at, changed) VALUES (?, ?) RETURNING seq`, time.Now().UnixMilli(), changed).Scan(&seq); err != nil {
		return nil, fmt.Errorf("take commit number: %w", err)
	}
	for bi, b := range batches {
		if b == nil {
			continue
		}
		if err := writeBatch(ctx, tx, b, seq, plan, bi); err != nil {
			return nil, err
		}
	}
	for _, t := range plan.Touches {
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET updated_at = MAX(updated_at, ?), last_pos = MAX(last_pos, ?) WHERE id = ?`,
			t.At, store.Pos(seq, t.Index), t.ConversationID); err != nil {
			return nil, fmt.Errorf("touch conversation: %w", err)
		}
	}
	outcomes, pending, err := applyChanges(ctx, tx, seq, batches)
	if err != nil {
		return nil, err
	}
	members, reads, err := s.queryMembers(ctx, tx, plan.Members)
	if err != nil {
		return nil, err
	}
	if err := restoreMissing(ctx, tx, seq, pending, members); err != nil {
		return nil, err
	}
	if err := sqlrow.CheckRequired(batches, members); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", mapErr(err))
	}
	s.members.Keep(reads)
	plan.SetPositions(batches, seq)
	setOutcomes(batches, outcomes)
	return &store.Committed{Seq: seq, Members: members, MembershipChanged: plan.Changed}, nil
}

// applyChanges applies the batches' conversation changes and restores in
// batch order and returns the changes' outcomes in the same order. The
// restores after the last change are returned instead: the commit applies
// them from the members it reads (restoreMissing), with no statement for a
// member who is there, which is the common case of every message of a
// private chat.
func applyChanges(ctx context.Context, tx *wtx, seq int64, batches []*store.Batch) ([]changeOutcome, []store.Participant, error) {
	var out []changeOutcome
	var pending []*store.Batch
	for _, b := range batches {
		if b == nil {
			continue
		}
		if len(b.Changes) > 0 && len(pending) > 0 {
			for _, p := range sqlrow.Restores(pending) {
				if err := restoreMember(ctx, tx, seq, p); err != nil {
					return nil, nil, err
				}
			}
			pending = nil
		}
		for i := range b.Changes {
			o, err := applyChange(ctx, tx, seq, &b.Changes[i])
			if err != nil {
				return nil, nil, fmt.Errorf("change conversation: %w", err)
			}
			out = append(out, o)
		}
		if len(b.Restore) > 0 {
			pending = append(pending, b)
		}
	}
	return out, sqlrow.Restores(pending), nil
}

// restoreMember adds p back at the commit's first position unless it is a
// member.
func restoreMember(ctx context.Context, tx *wtx, seq int64, p store.Participant) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
		VALUES (?,?,?,?,?) ON CONFLICT (conversation_id, user_id) DO NOTHING`,
		p.ConversationID, p.UserID, p.Role, sqlrow.MS(p.JoinedAt), store.Pos(seq, 0)); err != nil {
		return fmt.Errorf("restore member: %w", commitErr(err))
	}
	return nil
}

// restoreMissing adds back, at the commit's first position, the members of
// ps that members (as the commit reads them) lacks, and records them there.
func restoreMissing(ctx context.Context, tx *wtx, seq int64, ps []store.Participant, members map[string][]store.Member) error {
	for _, p := range ps {
		if sqlrow.IsMember(members, p.ConversationID, p.UserID) {
			continue
		}
		if err := restoreMember(ctx, tx, seq, p); err != nil {
			return err
		}
		sqlrow.AddMember(members, p.ConversationID, store.Member{UserID: p.UserID, JoinedPos: store.Pos(seq, 0)})
	}
	return nil
}

// setOutcomes tells the batches' changes what they did, once committed.
func setOutcomes(batches []*store.Batch, outcomes []changeOutcome) {
	for _, b := range batches {
		if b == nil {
			continue
		}
		for i := range b.Changes {
			b.Changes[i].Deleted, b.Changes[i].OwnerID = outcomes[0].deleted, outcomes[0].owner
			outcomes = outcomes[1:]
		}
	}
}

// writeBatch writes batch bi of a commit in store.Batch's order: messages,
// edits, deletes, read marks, reactions (and the block check), events (touches and changes follow, for all
// batches at once).
func writeBatch(ctx context.Context, tx *wtx, b *store.Batch, seq int64, plan *sqlrow.Plan, bi int) error {
	for i, m := range b.Messages {
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, conversation_id, from_id, client_id, body, x, attachments,
			replied_message_id, forwarded_message_id, t, pos, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			m.ID, m.ConversationID, m.From, m.ClientID, m.Body, sqlrow.RawOrNil(m.X), sqlrow.RawOrNil(m.Attachments), m.RepliedMessageID,
			m.ForwardedMessageID, m.T, store.Pos(seq, plan.Messages[bi][i]), sqlrow.MS(m.CreatedAt), sqlrow.MS(m.UpdatedAt)); err != nil {
			return fmt.Errorf("insert message: %w", commitErr(err))
		}
	}
	for _, e := range b.Edits {
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET body = ?, updated_at = ? WHERE id = ? AND conversation_id = ?`,
			e.Body, sqlrow.MS(e.At), e.ID, e.ConversationID); err != nil {
			return fmt.Errorf("edit message: %w", err)
		}
		// The message's own event takes the new body unless it is redacted
		// (the message is gone); earlier edit events go.
		if _, err := tx.ExecContext(ctx, `UPDATE events SET payload = ? WHERE id = ? AND conversation_id = ? AND payload <> ''`,
			string(e.Payload), e.ID, e.ConversationID); err != nil {
			return fmt.Errorf("rewrite message event: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET payload = '' WHERE ref_id = ? AND conversation_id = ?`,
			e.ID, e.ConversationID); err != nil {
			return fmt.Errorf("redact edit events: %w", err)
		}
	}
	for _, d := range b.Deletes {
		if len(d.IDs) == 0 {
			continue
		}
		ids, err := json.Marshal(d.IDs)
		if err != nil {
			return fmt.Errorf("delete messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM messages WHERE conversation_id = ? AND id IN (SELECT value FROM json_each(?))`,
			d.ConversationID, string(ids)); err != nil {
			return fmt.Errorf("delete messages: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE events SET payload = '' WHERE conversation_id = ?1 AND payload <> ''
			AND (id IN (SELECT value FROM json_each(?2)) OR ref_id IN (SELECT value FROM json_each(?2)))`,
			d.ConversationID, string(ids)); err != nil {
			return fmt.Errorf("redact deleted messages: %w", err)
		}
	}
	for _, r := range b.ReadMarks {
		if _, err := tx.ExecContext(ctx, `INSERT INTO read_marks (conversation_id, user_id, last_read_pos) VALUES (?,?,?)
			ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_read_pos = MAX(last_read_pos, excluded.last_read_pos)`,
			r.ConversationID, r.UserID, r.Pos); err != nil {
			return fmt.Errorf("mark read: %w", commitErr(err))
		}
	}
	if err := writeReactions(ctx, tx, b.Reactions); err != nil {
		return err
	}
	if err := checkUnblocked(ctx, tx, b.Unblocked); err != nil {
		return err
	}
	for i, e := range b.Events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (pos, id, conversation_id, user_id, ref_id, payload, created_at) VALUES (?,?,?,?,?,?,?)`,
			store.Pos(seq, plan.Events[bi][i]), e.ID, sqlrow.Nullable(e.ConversationID), sqlrow.Nullable(e.UserID),
			sqlrow.Nullable(e.RefID), string(e.Payload), sqlrow.MS(e.CreatedAt)); err != nil {
			return fmt.Errorf("insert event: %w", mapErr(err))
		}
	}
	return nil
}

// commitErr maps the error of a row of a commit as mapErr does, and a
// conversation that is gone (deleted since the batch was made: a foreign
// key) to store.ErrNotFound.
func commitErr(err error) error {
	if err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		return fmt.Errorf("%w: %s", store.ErrNotFound, err.Error())
	}
	return mapErr(err)
}

// queryMembers reads the members of conversations (ids) as the transaction
// sees them: each conversation's members_version, then the members of those
// whose version the cache does not hold. The lists read are returned apart,
// for the cache once the transaction has committed (sqlrow.MemberCache).
func (s *DB) queryMembers(ctx context.Context, tx *wtx, ids []string) (map[string][]store.Member, []sqlrow.MemberRead, error) {
	out := map[string][]store.Member{}
	if len(ids) == 0 {
		return out, nil, nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return nil, nil, fmt.Errorf("members: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, members_version FROM conversations WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, nil, fmt.Errorf("member versions: %w", err)
	}
	versions, err := sqlrow.Versions(rows)
	_ = rows.Close()
	if err != nil {
		return nil, nil, err
	}
	missing := s.members.Lookup(versions, out)
	if len(missing) == 0 {
		return out, nil, nil
	}
	if list, err = json.Marshal(missing); err != nil {
		return nil, nil, fmt.Errorf("members: %w", err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+sqlrow.MemberCols+` FROM participants
		WHERE conversation_id IN (SELECT value FROM json_each(?)) ORDER BY conversation_id, user_id`, string(list))
	if err != nil {
		return nil, nil, fmt.Errorf("members: %w", err)
	}
	read, err := sqlrow.Members(rows)
	_ = rows.Close()
	if err != nil {
		return nil, nil, err
	}
	reads := make([]sqlrow.MemberRead, 0, len(missing))
	for _, cid := range missing {
		ms := read[cid]
		reads = append(reads, sqlrow.MemberRead{ConversationID: cid, Version: versions[cid], Members: ms})
		if len(ms) > 0 {
			out[cid] = ms
		}
	}
	return out, reads, nil
}

// ResolveCommit implements store.Messages. The write transaction waits for
// the one writer to finish, so a number at most LastCommit is committed
// already; INSERT OR IGNORE marks any other void (a pruned number).
func (s *DB) ResolveCommit(ctx context.Context, seq int64) (*store.Committed, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("resolve commit: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO commits (seq, void, at) VALUES (?, 1, ?)`, seq, time.Now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("resolve commit %d: %w", seq, err)
	}
	out := &store.Committed{Seq: seq}
	var changed string
	var reads []sqlrow.MemberRead
	if err := tx.QueryRowContext(ctx, `SELECT void, COALESCE(changed, '') FROM commits WHERE seq = ?`, seq).Scan(&out.Void, &changed); err != nil {
		return nil, fmt.Errorf("resolve commit %d: %w", seq, err)
	}
	if out.MembershipChanged, err = sqlrow.ParseChanged(changed); err != nil {
		return nil, fmt.Errorf("resolve commit %d: %w", seq, err)
	}
	if !out.Void {
		rows, err := tx.QueryContext(ctx, `SELECT `+sqlrow.EventCols+` FROM events WHERE pos BETWEEN ? AND ? AND payload <> '' ORDER BY pos`,
			store.Pos(seq, 0), store.LastPos(seq))
		if err != nil {
			return nil, fmt.Errorf("commit %d events: %w", seq, err)
		}
		if out.Events, err = scanEvents(rows); err != nil {
			return nil, err
		}
		if out.Members, reads, err = s.queryMembers(ctx, tx, conversationsOf(out.Events)); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("resolve commit %d: %w", seq, err)
	}
	s.members.Keep(reads)
	return out, nil
}

// conversationsOf lists the distinct conversations of events.
func conversationsOf(es []store.Event) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range es {
		if e.ConversationID != "" && !seen[e.ConversationID] {
			seen[e.ConversationID] = true
			out = append(out, e.ConversationID)
		}
	}
	return out
}

// LastCommit implements store.Messages: the largest number ever taken.
func (s *DB) LastCommit(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.queryRow(ctx, `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'commits'), 0)`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last commit: %w", err)
	}
	return seq, nil
}

// PruneEvents implements store.Messages.
func (s *DB) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	tx, err := s.begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	res, err := tx.ExecContext(ctx, `DELETE FROM events WHERE created_at < ?`, sqlrow.MS(before))
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM commits WHERE at < ?`, sqlrow.MS(before)); err != nil {
		return 0, fmt.Errorf("prune commits: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(n), nil
}

// NodeNumber implements store.Messages with a one-row counter.
func (s *DB) NodeNumber(ctx context.Context) (uint32, error) {
	var n int64
	if err := s.queryRow(ctx, `UPDATE node_numbers SET n = n + 1 WHERE id = 1 RETURNING n`).Scan(&n); err != nil {
		return 0, fmt.Errorf("node number: %w", err)
	}
	return uint32(n % (1 << 24)), nil
}
