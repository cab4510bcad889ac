package sqlrow

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/samagate/samagate/store"
)

// IsMember reports whether userID is among the members of cid in ms.
func IsMember(ms map[string][]store.Member, cid, userID string) bool {
	return slices.ContainsFunc(ms[cid], func(m store.Member) bool { return m.UserID == userID })
}

// AddMember puts m among the members of cid in ms, in user id order (the
// order the members are read in).
func AddMember(ms map[string][]store.Member, cid string, m store.Member) {
	list := ms[cid]
	i, _ := slices.BinarySearchFunc(list, m.UserID, func(x store.Member, uid string) int { return strings.Compare(x.UserID, uid) })
	ms[cid] = slices.Insert(list, i, m)
}

// Restores collects the restores of batches in order, without repeats of a
// conversation and user.
func Restores(batches []*store.Batch) []store.Participant {
	var out []store.Participant
	for _, b := range batches {
		if b == nil {
			continue
		}
		for _, p := range b.Restore {
			if !slices.ContainsFunc(out, func(q store.Participant) bool {
				return q.ConversationID == p.ConversationID && q.UserID == p.UserID
			}) {
				out = append(out, p)
			}
		}
	}
	return out
}

// CheckRequired fails with store.ErrNotMember when a batch requires a
// member that ms (the members as the commit leaves them) does not hold.
func CheckRequired(batches []*store.Batch, ms map[string][]store.Member) error {
	for _, b := range batches {
		if b == nil {
			continue
		}
		for _, r := range b.Require {
			if !IsMember(ms, r.ConversationID, r.UserID) {
				return fmt.Errorf("%s in conversation %s: %w", r.UserID, r.ConversationID, store.ErrNotMember)
			}
		}
	}
	return nil
}

// ChangedList is how a commit records the conversations it changed
// (store.Committed.MembershipChanged): a JSON array, or NULL for none.
func ChangedList(ids []string) (any, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return nil, fmt.Errorf("changed conversations: %w", err)
	}
	return string(b), nil
}

// ParseChanged reads what ChangedList recorded ("" for NULL).
func ParseChanged(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("changed conversations: %w", err)
	}
	return out, nil
}
