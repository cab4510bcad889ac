package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// takeNumber is the first statement of every commit: it takes the next
// number and records it in one statement, so that the row exists (if still
// uncommitted) from the moment the number is handed out. A reader resolving
// the number (ResolveCommit) then waits for this transaction instead of
// marking the number void under it.
const takeNumber = `INSERT INTO commits (seq, at, changed) VALUES (nextval('commit_seq'), $1, $2) RETURNING seq`

// posExpr is the position of row $n of the commit this session numbered
// last; every statement after takeNumber computes positions with it, so
// that the whole commit stays one round trip.
const posExpr = `((currval('commit_seq') << 16) + $%d)`

// nextPos is the first position of the next commit: any commit that takes
// its number after this is read has positions at least this, any earlier
// one smaller. The sequence is read outside transactions (numbers are not
// transactional).
const nextPos = `((SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM commit_seq) << 16)`

var (
	insertMessage = fmt.Sprintf(`INSERT INTO messages (id, conversation_id, from_id, client_id, body, x, attachments,
		replied_message_id, forwarded_message_id, t, created_at, updated_at, pos) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,`+posExpr+`)`, 13)
	insertEvent = fmt.Sprintf(`INSERT INTO events (id, conversation_id, user_id, ref_id, payload, created_at, pos)
		VALUES ($1,$2,$3,$4,$5,$6,`+posExpr+`)`, 7)
	touchConversation = fmt.Sprintf(`UPDATE conversations SET updated_at = GREATEST(updated_at, $1),
		last_pos = GREATEST(last_pos, `+posExpr+`) WHERE id = $3`, 2)
)

// Commit implements store.Messages: every batch goes to the server in one
// pipeline that PostgreSQL runs as one implicit transaction: the locks of
// the commit's conversations (lockConversations), takeNumber, the rows.
// No lock is shared by all commits: commits of different conversations, on
// any node, run in parallel, and readers that must not skip a number
// resolve it (ResolveCommit); commits of one conversation take turns, in
// the order of their numbers. Touched conversations are updated after the
// batches' rows, merged; the conversation changes come after them
// (changes.go), then the members read.
//
// A statement that fails after the number is taken aborts the transaction
// for certain: that is store.AbortedError (the number is burned). A failure
// of the first statement, or a lost connection, is a plain error.
func (s *DB) Commit(ctx context.Context, batches []*store.Batch) (*store.Committed, error) {
	plan, err := sqlrow.PlanCommit(batches)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	changed, err := sqlrow.ChangedList(plan.Changed)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	p := &pipeline{b: &pgx.Batch{}}
	locks := lockSet(plan)
	if len(locks) > 0 {
		p.b.Queue(lockConversations, locks)
	}
	p.b.Queue(takeNumber, time.Now().UnixMilli(), changed)
	for bi, b := range batches {
		if b != nil {
			p.batch(b, plan, bi)
		}
	}
	p.touch(plan.Touches)
	var pending []*store.Batch // restores after the last change: done by the members read
	for _, b := range batches {
		if len(changesOf(b)) > 0 && len(pending) > 0 {
			p.restore(sqlrow.Restores(pending))
			pending = nil
		}
		for i := range changesOf(b) {
			if err := p.change(&b.Changes[i]); err != nil {
				return nil, fmt.Errorf("%w: change conversation: %w", store.ErrRolledBack, err)
			}
		}
		if b != nil && len(b.Restore) > 0 {
			pending = append(pending, b)
		}
	}
	members := p.members(plan, sqlrow.Restores(pending), batches)
	seq, err := p.run(ctx, s.pool, len(locks) > 0)
	if err != nil {
		return nil, err
	}
	plan.SetPositions(batches, seq)
	p.done()
	return &store.Committed{Seq: seq, Members: *members, MembershipChanged: plan.Changed}, nil
}

// lockConversations is the first statement of a commit that writes to
// conversations (or reads their members): it locks their rows, in id
// order, before the commit takes its number. So two commits of one
// conversation take their numbers in the order they hold it: the one
// numbered lower reads the members and writes first, and the members a
// commit reads (its recipients, the senders it checks) are those of its
// position, on every node. Locking in one order keeps concurrent commits
// from deadlocking; waiting for a lock before the number keeps a commit
// that waits from holding a number the other nodes' sequencers wait for.
// The rest of the commit changes only rows it holds.
const lockConversations = `SELECT 1 FROM conversations WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`

// lockSet is every conversation a commit touches, changes, or reads the
// members of, sorted.
func lockSet(plan *sqlrow.Plan) []string {
	out := slices.Clone(plan.Members)
	for _, t := range plan.Touches {
		out = append(out, t.ConversationID)
	}
	out = append(out, plan.Changed...)
	slices.Sort(out)
	return slices.Compact(out)
}

// touch queues the touches, merged per conversation.
func (p *pipeline) touch(touches []sqlrow.Touch) {
	for _, t := range touches {
		p.exec("touch conversation", touchConversation, t.At, t.Index, t.ConversationID)
	}
}

// changesOf is b's changes (none for a nil batch).
func changesOf(b *store.Batch) []store.ConversationChange {
	if b == nil {
		return nil
	}
	return b.Changes
}

// batch queues the rows of batch bi in store.Batch's order: messages,
// edits, deletes, read marks, reactions (and the block check), events.
func (p *pipeline) batch(b *store.Batch, plan *sqlrow.Plan, bi int) {
	for i, m := range b.Messages {
		p.exec("insert message", insertMessage, m.ID, m.ConversationID, m.From, m.ClientID, m.Body, sqlrow.RawOrNil(m.X),
			sqlrow.RawOrNil(m.Attachments), m.RepliedMessageID, m.ForwardedMessageID, m.T, sqlrow.MS(m.CreatedAt),
			sqlrow.MS(m.UpdatedAt), plan.Messages[bi][i])
	}
	for _, e := range b.Edits {
		p.exec("edit message", `UPDATE messages SET body = $1, updated_at = $2 WHERE id = $3 AND conversation_id = $4`,
			e.Body, sqlrow.MS(e.At), e.ID, e.ConversationID)
		// The message's own event takes the new body unless it is
		// redacted (the message is gone); earlier edit events go.
		p.exec("rewrite message event", `UPDATE events SET payload = $1 WHERE id = $2 AND conversation_id = $3 AND payload <> ''`,
			string(e.Payload), e.ID, e.ConversationID)
		p.exec("redact edit events", `UPDATE events SET payload = '' WHERE ref_id = $1 AND conversation_id = $2 AND payload <> ''`,
			e.ID, e.ConversationID)
	}
	for _, d := range b.Deletes {
		if len(d.IDs) == 0 {
			continue
		}
		p.exec("delete messages", `DELETE FROM messages WHERE conversation_id = $1 AND id = ANY($2)`, d.ConversationID, d.IDs)
		p.exec("redact deleted messages", `UPDATE events SET payload = '' WHERE id = ANY($2) AND conversation_id = $1 AND payload <> ''`,
			d.ConversationID, d.IDs)
		p.exec("redact edit events", `UPDATE events SET payload = '' WHERE ref_id = ANY($2) AND conversation_id = $1 AND payload <> ''`,
			d.ConversationID, d.IDs)
	}
	for _, r := range b.ReadMarks {
		p.exec("mark read", `INSERT INTO read_marks (conversation_id, user_id, last_read_pos) VALUES ($1,$2,$3)
			ON CONFLICT (conversation_id, user_id) DO UPDATE SET last_read_pos = GREATEST(read_marks.last_read_pos, excluded.last_read_pos)`,
			r.ConversationID, r.UserID, r.Pos)
	}
	p.reactions(b)
	for i, e := range b.Events {
		p.exec("insert event", insertEvent, e.ID, sqlrow.Nullable(e.ConversationID), sqlrow.Nullable(e.UserID),
			sqlrow.Nullable(e.RefID), string(e.Payload), sqlrow.MS(e.CreatedAt), plan.Events[bi][i])
	}
}

// run sends the pipeline in one round trip and reads every result; it
// returns the commit's number. A statement that fails after takeNumber
// aborted the transaction for certain: store.AbortedError.
func (p *pipeline) run(ctx context.Context, pool *pgxpool.Pool, locked bool) (int64, error) {
	br := pool.SendBatch(ctx, p.b)
	if locked {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return 0, fmt.Errorf("lock conversations: %w", numberErr(err))
		}
	}
	var seq int64
	if err := br.QueryRow().Scan(&seq); err != nil {
		_ = br.Close()
		return 0, fmt.Errorf("take commit number: %w", numberErr(err))
	}
	for _, st := range p.steps {
		if err := st.read(br); err != nil {
			_ = br.Close()
			if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) {
				return 0, &store.AbortedError{Seq: seq, Err: fmt.Errorf("%s: %w", st.name, changeErr(err))}
			}
			return 0, fmt.Errorf("commit %d: %s: %w", seq, st.name, err)
		}
	}
	if err := br.Close(); err != nil {
		return 0, fmt.Errorf("commit %d: %w", seq, err)
	}
	return seq, nil
}

// pipeline is a commit's statements after takeNumber, sent in one round
// trip, with what each one is (for errors) and how its result is read.
type pipeline struct {
	b     *pgx.Batch
	steps []pipelineStep
	// outcomes are set on the batches' changes once committed.
	outcomes []func()
}

type pipelineStep struct {
	name string
	read func(pgx.BatchResults) error
}

// exec queues a statement whose result is only its success.
func (p *pipeline) exec(name, sql string, args ...any) {
	p.query(name, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	}, sql, args...)
}

// query queues a statement whose result read reads.
func (p *pipeline) query(name string, read func(pgx.BatchResults) error, sql string, args ...any) {
	p.b.Queue(sql, args...)
	p.steps = append(p.steps, pipelineStep{name: name, read: read})
}

// done runs the outcomes of a committed pipeline.
func (p *pipeline) done() {
	for _, f := range p.outcomes {
		f()
	}
}

// numberErr maps a failure of takeNumber. Its only conflict is a number a
// reader has marked void meanwhile: the commit lost the number, which is
// not the caller's conflict (store.ErrConflict) but store.ErrNumberLost,
// to retry. Any server error there rolled the commit back; a lost
// connection is ambiguous.
func numberErr(err error) error {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe) && pe.Code == uniqueViolation:
		return fmt.Errorf("%w: %w", store.ErrNumberLost, err)
	case errors.As(err, &pe):
		return fmt.Errorf("%w: %w", store.ErrRolledBack, mapErr(err))
	}
	return mapErr(err)
}

// scanMembers reads rows of sqlrow.MemberCols and closes them.
func scanMembers(rows pgx.Rows) (map[string][]store.Member, error) {
	defer rows.Close()
	return sqlrow.Members(rows)
}

// ResolveCommit implements store.Messages in one round trip. The void
// mark's insert is PostgreSQL's speculative insertion: if a writer has
// inserted row seq (takeNumber) and not ended yet, it waits for that
// transaction, then does nothing (committed) or inserts (aborted); if no
// writer has, the void row wins and a writer that inserts seq later fails
// on the primary key. Each following statement reads committed data as of
// its own start (read committed), so it sees the writer's rows.
func (s *DB) ResolveCommit(ctx context.Context, seq int64) (*store.Committed, error) {
	first, last := store.Pos(seq, 0), store.LastPos(seq)
	pb := &pgx.Batch{}
	pb.Queue(`INSERT INTO commits (seq, void, at) VALUES ($1, true, $2) ON CONFLICT (seq) DO NOTHING`, seq, time.Now().UnixMilli())
	pb.Queue(`SELECT void, COALESCE(changed, '') FROM commits WHERE seq = $1`, seq)
	pb.Queue(`SELECT `+sqlrow.EventCols+` FROM events WHERE pos BETWEEN $1 AND $2 AND payload <> '' ORDER BY pos`, first, last)
	pb.Queue(`SELECT `+sqlrow.MemberCols+` FROM participants WHERE conversation_id IN (
			SELECT conversation_id FROM events WHERE pos BETWEEN $1 AND $2 AND payload <> '' AND conversation_id IS NOT NULL)
		ORDER BY conversation_id, user_id`, first, last)
	br := s.pool.SendBatch(ctx, pb)
	out, err := readResolved(br, seq)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("resolve commit %d: %w", seq, err)
	}
	if out.Void {
		out.Events, out.Members = nil, nil
	}
	return out, nil
}

// readResolved reads the results of ResolveCommit's pipeline.
func readResolved(br pgx.BatchResults, seq int64) (*store.Committed, error) {
	out := &store.Committed{Seq: seq}
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	var changed string
	if err := br.QueryRow().Scan(&out.Void, &changed); err != nil {
		return nil, err
	}
	var err error
	if out.MembershipChanged, err = sqlrow.ParseChanged(changed); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	if out.Events, err = scanEvents(rows); err != nil {
		return nil, err
	}
	rows, err = br.Query()
	if err != nil {
		return nil, err
	}
	if out.Members, err = scanMembers(rows); err != nil {
		return nil, err
	}
	return out, nil
}

// LastCommit implements store.Messages from the sequence itself: a number
// counts as handed out the moment nextval returns it, committed or not.
func (s *DB) LastCommit(ctx context.Context) (int64, error) {
	var seq int64
	if err := s.pool.QueryRow(ctx, `SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM commit_seq`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("last commit: %w", err)
	}
	return seq, nil
}

// PruneEvents implements store.Messages.
func (s *DB) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	pb := &pgx.Batch{}
	pb.Queue(`DELETE FROM events WHERE created_at < $1`, sqlrow.MS(before))
	pb.Queue(`DELETE FROM commits WHERE at < $1`, sqlrow.MS(before))
	br := s.pool.SendBatch(ctx, pb)
	tag, err := br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// NodeNumber implements store.Messages with the sequence node_seq.
func (s *DB) NodeNumber(ctx context.Context) (uint32, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT nextval('node_seq')`).Scan(&n); err != nil {
		return 0, fmt.Errorf("node number: %w", err)
	}
	return uint32(n % (1 << 24)), nil
}
