package postgres

import (
	"github.com/jackc/pgx/v5"

	"github.com/samagate/samagate/store"
	"github.com/samagate/samagate/store/sqlrow"
)

// codeNotMember is the SQLSTATE samagate_check raises when a batch's
// Require names a user who is not a member (store.ErrNotMember).
const codeNotMember = "SG403"

// readMembers reads the members of the commit's conversations.
const readMembers = `SELECT ` + sqlrow.MemberCols + ` FROM participants
	WHERE conversation_id = ANY($1) ORDER BY conversation_id, user_id`

// readMembersChecked is readMembers for a commit with restores or required
// members, in the same one statement: the restored CTE adds back the
// missing members of $2..$5 at the commit's first position (ON CONFLICT DO
// NOTHING: nothing is written for a member who is there) and returns them;
// the main query sees the table as the statement began, so the members are
// the rows read plus the rows restored. The last branch joins the required
// members ($6, $7) to them (a hash join, whatever the number of batches and
// members) and fails the statement, and with it the commit, with
// codeNotMember on one who is missing; it returns no row, since
// samagate_check is true for one who is there. The check refers to the
// joined side, so it runs after the join, on every required member.
const readMembersChecked = `WITH restored AS (
		INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
		SELECT r.cid, r.uid, r.role, r.joined_at, currval('commit_seq') << 16
		FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS r (cid, uid, role, joined_at)
		ON CONFLICT (conversation_id, user_id) DO NOTHING
		RETURNING ` + sqlrow.MemberCols + `),
	members AS (
		SELECT ` + sqlrow.MemberCols + ` FROM participants WHERE conversation_id = ANY($1)
		UNION ALL SELECT ` + sqlrow.MemberCols + ` FROM restored)
	SELECT ` + sqlrow.MemberCols + ` FROM members
	UNION ALL
	SELECT q.cid, q.uid, 0 FROM unnest($6::text[], $7::text[]) AS q (cid, uid)
	LEFT JOIN members m ON m.conversation_id = q.cid AND m.user_id = q.uid
	WHERE NOT samagate_check(m.user_id IS NOT NULL, '` + codeNotMember + `')
	ORDER BY 1, 2`

// restoreMembers adds back the missing members of $1..$4 at the commit's
// first position: the restores of batches that a later batch's change
// follows, which must happen before it.
const restoreMembers = `INSERT INTO participants (conversation_id, user_id, role, joined_at, joined_pos)
	SELECT r.cid, r.uid, r.role, r.joined_at, currval('commit_seq') << 16
	FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS r (cid, uid, role, joined_at)
	ON CONFLICT (conversation_id, user_id) DO NOTHING`

// restore queues the restore of ps (store.Batch.Restore).
func (p *pipeline) restore(ps []store.Participant) {
	cids, uids, roles, joined := restoreArrays(ps)
	p.exec("restore members", restoreMembers, cids, uids, roles, joined)
}

// members queues the read of the commit's members, with the restores that
// come last and the batches' required members in the same statement, and
// returns where the members will be once the pipeline has run.
func (p *pipeline) members(plan *sqlrow.Plan, restores []store.Participant, batches []*store.Batch) *map[string][]store.Member {
	out := map[string][]store.Member{}
	if len(plan.Members) == 0 {
		return &out
	}
	read := func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		out, err = scanMembers(rows)
		return err
	}
	reqCIDs, reqUIDs := requireArrays(batches)
	if len(restores) == 0 && len(reqCIDs) == 0 {
		p.query("members", read, readMembers, plan.Members)
		return &out
	}
	cids, uids, roles, joined := restoreArrays(restores)
	p.query("members", read, readMembersChecked, plan.Members, cids, uids, roles, joined, reqCIDs, reqUIDs)
	return &out
}

// restoreArrays splits ps into the columns restoreMembers takes.
func restoreArrays(ps []store.Participant) (cids, uids, roles []string, joined []int64) {
	for _, p := range ps {
		cids, uids, roles = append(cids, p.ConversationID), append(uids, p.UserID), append(roles, p.Role)
		joined = append(joined, sqlrow.MS(p.JoinedAt))
	}
	return cids, uids, roles, joined
}

// requireArrays lists the batches' required members as two columns.
func requireArrays(batches []*store.Batch) (cids, uids []string) {
	for _, b := range batches {
		if b == nil {
			continue
		}
		for _, r := range b.Require {
			cids, uids = append(cids, r.ConversationID), append(uids, r.UserID)
		}
	}
	return cids, uids
}
