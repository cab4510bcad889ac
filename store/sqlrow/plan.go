package sqlrow

import (
	"slices"
	"strings"
	"time"

	"github.com/samagate/samagate/store"
)

// Plan places the rows of one commit before it is written: the index i of
// each event and message within the commit (its position is Pos(seq, i)
// once the commit has its number), the merged touches, and the
// conversations whose members the commit reports. Both backends write what
// it says, so positions mean the same in both.
type Plan struct {
	// Events and Messages hold, per batch, the index of each of its events
	// and messages, in the batch's order.
	Events, Messages [][]int
	// Touches are the batches' touches merged per conversation, in
	// conversation id order (the lock order of concurrent commits).
	Touches []Touch
	// Conversations are the distinct ids of the conversations that have an
	// event in the commit, sorted.
	Conversations []string
	// Members are the conversations whose members the commit reads: those
	// of Conversations and those the batches Require or Restore members of,
	// sorted, distinct.
	Members []string
	// Changed are the conversations the batches' changes change, sorted,
	// distinct (store.Committed.MembershipChanged).
	Changed []string
}

// Touch moves a conversation's activity forward: updated_at to At (unix
// ms), last_pos to the commit's position Index.
type Touch struct {
	ConversationID string
	At             int64
	Index          int
}

// PlanCommit numbers the rows of batches: events 0.. in order across every
// batch, then the messages that have no event with their id in their own
// batch; a message with one shares its index. It fails with
// store.ErrTooLarge past store.MaxCommitRows rows.
func PlanCommit(batches []*store.Batch) (*Plan, error) {
	p := &Plan{Events: make([][]int, len(batches)), Messages: make([][]int, len(batches))}
	next := 0
	last := map[string]int{} // conversation id -> its newest row's index
	for bi, b := range batches {
		if b == nil {
			continue
		}
		p.Events[bi] = make([]int, len(b.Events))
		for i, e := range b.Events {
			p.Events[bi][i] = next
			if e.ConversationID != "" {
				last[e.ConversationID] = next
			}
			next++
		}
	}
	for bi, b := range batches {
		if b == nil {
			continue
		}
		byID := make(map[string]int, len(b.Events))
		for i, e := range b.Events {
			byID[e.ID] = p.Events[bi][i]
		}
		p.Messages[bi] = make([]int, len(b.Messages))
		for i, m := range b.Messages {
			idx, ok := byID[m.ID]
			if !ok {
				idx = next
				next++
			}
			p.Messages[bi][i] = idx
			if cur, ok := last[m.ConversationID]; !ok || idx > cur {
				last[m.ConversationID] = idx
			}
		}
	}
	if next > store.MaxCommitRows {
		return nil, store.ErrTooLarge
	}
	touches := map[string]time.Time{}
	for _, b := range batches {
		if b == nil {
			continue
		}
		for id, at := range b.Touch {
			if cur, ok := touches[id]; !ok || at.After(cur) {
				touches[id] = at
			}
		}
	}
	for id, at := range touches {
		p.Touches = append(p.Touches, Touch{ConversationID: id, At: MS(at), Index: last[id]})
	}
	slices.SortFunc(p.Touches, func(a, b Touch) int { return strings.Compare(a.ConversationID, b.ConversationID) })
	for _, b := range batches {
		if b == nil {
			continue
		}
		for _, e := range b.Events {
			if e.ConversationID != "" {
				p.Conversations = append(p.Conversations, e.ConversationID)
			}
		}
	}
	slices.Sort(p.Conversations)
	p.Conversations = slices.Compact(p.Conversations)
	p.Members = slices.Clone(p.Conversations)
	for _, b := range batches {
		if b == nil {
			continue
		}
		for _, r := range b.Require {
			p.Members = append(p.Members, r.ConversationID)
		}
		for _, r := range b.Restore {
			p.Members = append(p.Members, r.ConversationID)
		}
		for _, c := range b.Changes {
			p.Changed = append(p.Changed, c.ConversationID)
		}
	}
	slices.Sort(p.Members)
	p.Members = slices.Compact(p.Members)
	slices.Sort(p.Changed)
	p.Changed = slices.Compact(p.Changed)
	return p, nil
}

// SetPositions writes the positions of commit seq into the batches' events
// and messages, as Commit promises its caller.
func (p *Plan) SetPositions(batches []*store.Batch, seq int64) {
	for bi, b := range batches {
		if b == nil {
			continue
		}
		for i := range b.Events {
			b.Events[i].Pos = store.Pos(seq, p.Events[bi][i])
		}
		for i := range b.Messages {
			b.Messages[i].Pos = store.Pos(seq, p.Messages[bi][i])
		}
	}
}
