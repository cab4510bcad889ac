package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// MaxReactionLen is SAMA's longest reaction (Joi string max 10): counted
// in UTF-16 code units, as SAMA's JavaScript counts them, so every reaction
// SAMA takes is taken (a flag or a skin-toned emoji is 4 units, a family
// ZWJ sequence up to 11).
const MaxReactionLen = 10

// MaxOwnReactions bounds the reactions one user keeps on one message (SAMA
// had no bound): one more is 422 "'reactions' max length 20".
const MaxOwnReactions = 20

// ReactionsUpdate is message_reactions_update: Add and/or Remove (nil =
// not sent).
type ReactionsUpdate struct {
	MID         string
	Add, Remove *string
}

// UpdateReactions adds and/or removes the caller's reaction on a message of
// a conversation they are a member of, and tells the members with
// message_reactions_update, through the event log (catch-up replays it),
// in the same commit as the change. A change that changes nothing (adding a
// reaction the caller gave, removing one they did not) succeeds with no
// event (SAMA). A message that is gone, of a conversation the caller is not
// a member of (any organization), or deleted by the caller for themselves
// is 422 Message ID not found (SAMA checked none of these but the last).
func (s *Service) UpdateReactions(ctx context.Context, a Actor, in ReactionsUpdate) error {
	if in.MID == "" {
		return protocol.ErrIncorrectMessageID
	}
	if in.Add == nil && in.Remove == nil {
		return protocol.Invalid("add", `"value" must contain at least one of [add, remove]`)
	}
	if err := checkReaction("add", in.Add); err != nil {
		return err
	}
	if err := checkReaction("remove", in.Remove); err != nil {
		return err
	}
	m, c, err := s.reactable(ctx, a, in.MID)
	if err != nil {
		return err
	}
	hidden, err := s.st.ConversationMessages(ctx, c.ID, store.MessageQuery{ViewerID: a.UserID, IDs: []string{m.ID}, Limit: 1})
	if err != nil {
		return fmt.Errorf("load message: %w", err)
	}
	if len(hidden) == 0 { // deleted for the caller alone
		return protocol.ErrMessageIDNotFound
	}
	own, err := s.st.UserReactions(ctx, m.ID, a.UserID)
	if err != nil {
		return fmt.Errorf("load reactions: %w", err)
	}
	// The store removes before it adds: removing and adding one reaction
	// leaves it as it was.
	add, remove := deref(in.Add), deref(in.Remove)
	addIt := add != "" && !slices.Contains(own, add)
	removeIt := remove != "" && remove != add && slices.Contains(own, remove)
	if !addIt && !removeIt {
		return nil
	}
	n := len(own)
	if addIt {
		n++
	}
	if removeIt {
		n--
	}
	if n > MaxOwnReactions {
		return protocol.Invalid("add", fmt.Sprintf("'reactions' max length %d", MaxOwnReactions))
	}
	now := s.cfg.Now().UTC()
	change := store.ReactionChange{MessageID: m.ID, UserID: a.UserID, At: now}
	payload := map[string]any{"mid": m.ID, "cid": c.ID, "c_type": c.Type, "from": a.UserID}
	if addIt {
		change.Add, payload["add"] = add, add
	}
	if removeIt {
		change.Remove, payload["remove"] = remove, remove
	}
	b := &store.Batch{Reactions: []store.ReactionChange{change}}
	if c.Type == store.TypeChannel {
		// A channel's reactions are stored and listed but announced to
		// nobody, as in SAMA: one subscriber's reaction would otherwise go
		// to every device of every subscriber.
		b.Require = require(a, c.ID)
		err = s.writeErr(c.ID, s.gc.commit(ctx, b, a.Conn))
	} else {
		err = s.logged(ctx, a, b, c.ID, "", "message_reactions_update", payload)
	}
	if errors.Is(err, protocol.ErrConversationNotFound) { // the message went meanwhile
		return protocol.ErrMessageIDNotFound
	}
	return err
}

// ListReactions maps each reaction of a message onto the users who gave
// it, in the order they gave it; for members of its conversation (as
// UpdateReactions).
func (s *Service) ListReactions(ctx context.Context, a Actor, mid string) (map[string][]string, error) {
	if mid == "" {
		return nil, protocol.ErrIncorrectMessageID
	}
	m, _, err := s.reactable(ctx, a, mid)
	if err != nil {
		return nil, err
	}
	rs, err := s.st.MessageReactions(ctx, m.ID)
	if err != nil {
		return nil, fmt.Errorf("load reactions: %w", err)
	}
	return rs, nil
}

// reactable loads a message and its conversation for a member of it:
// 422 Message ID not found when it is not there, or the caller is not a
// member of its conversation (as message_edit: its existence is not
// revealed; SAMA's list said 403, its update checked nothing).
func (s *Service) reactable(ctx context.Context, a Actor, mid string) (*store.Message, *store.Conversation, error) {
	m, err := s.st.MessageByID(ctx, mid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, protocol.ErrMessageIDNotFound
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load message: %w", err)
	}
	c, err := s.member(ctx, a, m.ConversationID)
	if errors.Is(err, protocol.ErrConversationNotFound) || errors.Is(err, protocol.ErrForbidden) {
		return nil, nil, protocol.ErrMessageIDNotFound // another organization's or conversation's: do not reveal it
	}
	if err != nil {
		return nil, nil, err
	}
	return m, c, nil
}

// checkReaction is SAMA's Joi rule for add and remove: a non-empty string
// of at most MaxReactionLen UTF-16 units (its messages); samagate also
// refuses text that is not UTF-8 or holds control characters.
func checkReaction(field string, v *string) error {
	if v == nil {
		return nil
	}
	switch {
	case *v == "":
		return protocol.Invalid(field, fmt.Sprintf(`"%s" is not allowed to be empty`, field))
	case len(utf16.Encode([]rune(*v))) > MaxReactionLen:
		return protocol.Invalid(field, fmt.Sprintf(`"%s" length must be less than or equal to %d characters long`, field, MaxReactionLen))
	case !utf8.ValidString(*v) || hasControl(*v):
		return protocol.Invalid(field, fmt.Sprintf(`"%s" must be a valid reaction`, field))
	}
	return nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// reactionsView is a list item's "reactions": {} when it has none, else
// the caller's own (sorted) and the number of users per reaction.
func reactionsView(sum store.ReactionSummary, ok bool) any {
	if !ok || len(sum.Total) == 0 {
		return struct{}{}
	}
	own := sum.Own
	if own == nil {
		own = []string{}
	}
	return struct {
		Own   []string       `json:"own"`
		Total map[string]int `json:"total"`
	}{own, sum.Total}
}

// withReactions sets the reactions of list items, read in one query.
func (s *Service) withReactions(ctx context.Context, viewer string, items []*Message) error {
	ids := make([]string, 0, len(items))
	for _, m := range items {
		ids = append(ids, m.ID)
	}
	sums, err := s.st.ReactionSummaries(ctx, viewer, ids)
	if err != nil {
		return fmt.Errorf("load reactions: %w", err)
	}
	for _, m := range items {
		sum, ok := sums[m.ID]
		m.Reactions = reactionsView(sum, ok)
	}
	return nil
}
