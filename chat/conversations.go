package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Conversation is the wire conversation object.
type Conversation struct {
	ID          string   `json:"_id"`
	Name        string   `json:"name,omitempty"`
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	OwnerID     string   `json:"owner_id"`
	OpponentID  string   `json:"opponent_id,omitempty"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
	LastMessage *Message `json:"last_message,omitempty"`
	Unread      int      `json:"unread_messages_count"`
	// SubscribersCount is a channel's member count, its owner and admins
	// included (SAMA); absent for other types.
	SubscribersCount *int `json:"subscribers_count,omitempty"`
}

func conversationView(c *store.Conversation) *Conversation {
	return &Conversation{ID: c.ID, Name: c.Name, Type: c.Type, Description: c.Description, OwnerID: c.OwnerID,
		OpponentID: c.OpponentID, CreatedAt: iso(c.CreatedAt), UpdatedAt: iso(c.UpdatedAt)}
}

// NewConversation is conversation_create.
type NewConversation struct {
	Type, Name, Description string
	Participants            []string
}

// CreateConversation creates a private (one per pair; an existing one is
// returned with missing members restored), group or channel conversation
// and tells the participants with the system_message
// x.conversation_created. A channel needs a name but no participants;
// the users of the organization it lists become its first subscribers.
func (s *Service) CreateConversation(ctx context.Context, a Actor, in NewConversation) (*Conversation, error) {
	switch {
	case in.Type == "":
		return nil, protocol.ErrConvTypeMissed
	case in.Type != store.TypePrivate && in.Type != store.TypeGroup && in.Type != store.TypeChannel:
		return nil, protocol.ErrConvTypeIncorrect
	case in.Type != store.TypePrivate && in.Name == "":
		return nil, protocol.ErrConvNameMissing
	case len(in.Participants) == 0 && in.Type != store.TypeChannel:
		return nil, protocol.ErrSelectUsers
	case len(in.Participants) > s.cfg.MaxParticipants:
		return nil, protocol.ErrTooManyInGroup
	case len(in.Name) > maxName:
		return nil, protocol.Invalid("name", fmt.Sprintf("'name' max length %d", maxName))
	}
	var ask []string
	for _, id := range in.Participants {
		if id != a.UserID && !slices.Contains(ask, id) {
			ask = append(ask, id)
		}
	}
	users, err := s.st.UsersByIDs(ctx, a.OrgID, ask)
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	others := make([]string, 0, len(users))
	for _, u := range users {
		others = append(others, u.ID)
	}
	now := s.cfg.Now().UTC()
	c := &store.Conversation{ID: s.ids.Next(now), OrgID: a.OrgID, Type: in.Type, Name: in.Name,
		Description: in.Description, OwnerID: a.UserID, CreatedAt: now, UpdatedAt: now}
	ps := []store.Participant{{UserID: a.UserID, Role: store.RoleOwner, JoinedAt: now}}
	switch in.Type {
	case store.TypePrivate:
		if len(others) > 1 {
			return nil, protocol.ErrTooManyInPrivate
		}
		if len(others) == 0 {
			return nil, protocol.ErrIncorrectUser
		}
		c.OpponentID, c.PairKey, c.Name = others[0], store.PairKey(a.UserID, others[0]), ""
		if err := s.checkNotBlocked(ctx, a.UserID, others[0]); err != nil {
			return nil, err
		}
		ps[0].Role = store.RoleMember
		ps = append(ps, store.Participant{UserID: others[0], JoinedAt: now})
		existing, err := s.st.PrivateConversation(ctx, a.OrgID, c.PairKey)
		if err == nil {
			if err := s.st.AddParticipants(ctx, existing.ID, ps); err != nil {
				return nil, fmt.Errorf("restore participants: %w", err)
			}
			return conversationView(existing), nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("find private conversation: %w", err)
		}
	case store.TypeGroup, store.TypeChannel:
		if len(others) == 0 && in.Type == store.TypeGroup {
			return nil, protocol.ErrParticipantsMissing
		}
		for _, id := range others {
			ps = append(ps, store.Participant{UserID: id, JoinedAt: now})
		}
	}
	if err := s.st.CreateConversation(ctx, c, ps); err != nil {
		if errors.Is(err, store.ErrConflict) { // a concurrent create of the same pair won
			existing, ferr := s.st.PrivateConversation(ctx, a.OrgID, c.PairKey)
			if ferr == nil {
				return conversationView(existing), nil
			}
		}
		return nil, fmt.Errorf("create conversation: %w", err)
	}
	view := conversationView(c)
	if c.Type == store.TypeChannel {
		n := len(ps)
		view.SubscribersCount = &n
	}
	eid := s.ids.Next(now)
	frame, err := event("system_message", map[string]any{
		"_id": c.ID, "from": a.UserID, "t": now.Unix(), "x": map[string]any{"conversation_created": view}, "cid": c.ID, "eid": eid,
	})
	if err != nil {
		return nil, err
	}
	ev := store.Event{ID: eid, ConversationID: c.ID, Payload: frame, CreatedAt: now}
	if err := s.gc.commit(ctx, &store.Batch{Events: []store.Event{ev}, Touch: map[string]time.Time{c.ID: now}}, a.Conn); err != nil {
		return nil, err
	}
	return view, nil
}

// ConversationQuery is conversation_list.
type ConversationQuery struct {
	Limit         int
	UpdatedBefore time.Time
	UpdatedAfter  time.Time
	IDs           []string
}

// maxListConversationIDs bounds the ids of one conversation_list (SAMA's
// bound).
const maxListConversationIDs = 10

// ListConversations pages the caller's conversations, newest activity
// first, each with its last message and the caller's unread count. A page
// costs a fixed number of queries whatever its size: the conversations,
// then what the caller sees of all of them at once
// (store.Messages.ConversationStates).
func (s *Service) ListConversations(ctx context.Context, a Actor, q ConversationQuery) ([]Conversation, error) {
	if q.Limit <= 0 || q.Limit > 100 {
		q.Limit = 30
	}
	if err := maxLength("ids", len(q.IDs), maxListConversationIDs); err != nil {
		return nil, err
	}
	cs, err := s.st.UserConversations(ctx, a.OrgID, a.UserID, store.ConversationQuery{
		IDs: q.IDs, UpdatedBefore: q.UpdatedBefore, UpdatedAfter: q.UpdatedAfter, Limit: q.Limit})
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	ids := make([]string, 0, len(cs))
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	states, err := s.st.ConversationStates(ctx, a.UserID, ids)
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	out := make([]Conversation, 0, len(cs))
	var last []*Message
	for i := range cs {
		v, st := conversationView(&cs[i]), states[cs[i].ID]
		if st.LastMessage != nil {
			v.LastMessage = messageView(st.LastMessage, "", a.UserID, st.OthersReadMark)
			last = append(last, v.LastMessage)
		}
		v.Unread = st.Unread
		out = append(out, *v)
	}
	views := make([]*Conversation, len(out))
	for i := range out {
		views[i] = &out[i]
	}
	if err := s.countSubscribers(ctx, views...); err != nil {
		return nil, err
	}
	if len(last) > 0 {
		if err := s.withReactions(ctx, a.UserID, last); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ParticipantsOf maps each of cids the caller belongs to onto its member
// ids (user id descending); other conversations are left out. At most
// MaxListIDs cids (422), read in one query.
func (s *Service) ParticipantsOf(ctx context.Context, a Actor, cids []string) (map[string][]string, error) {
	if err := maxLength("cids", len(cids), s.cfg.MaxListIDs); err != nil {
		return nil, err
	}
	out, err := s.st.ConversationMembers(ctx, a.OrgID, a.UserID, cids)
	if err != nil {
		return nil, fmt.Errorf("participants: %w", err)
	}
	return out, nil
}

// LeaveConversation is conversation_delete: the caller leaves; when nobody
// is left the conversation is deleted, otherwise the others get the stored
// notice "<login> has left the conversation". The removal, the hand-off of
// a group's ownership when the owner leaves (store.Heir: the admin who has
// been a member longest, else the longest member), the deletion and the
// notice are one commit (store.ConversationChange). Unknown or
// other-organization ids are 400 Bad Request., a non-member 404 (SAMA's
// answers).
func (s *Service) LeaveConversation(ctx context.Context, a Actor, cid string) error {
	if cid == "" {
		return protocol.FieldRequired("id")
	}
	c, err := s.st.Conversation(ctx, a.OrgID, cid)
	if errors.Is(err, store.ErrNotFound) {
		return protocol.ErrBadRequest
	}
	if err != nil {
		return fmt.Errorf("load conversation: %w", err)
	}
	ps, err := s.st.Participants(ctx, c.ID)
	if err != nil {
		return fmt.Errorf("load participants: %w", err)
	}
	cur := &convState{c: c, ps: ps}
	if cur.member(a.UserID) == nil {
		return protocol.ErrParticipantNotFound
	}
	b := &store.Batch{Changes: []store.ConversationChange{{ConversationID: c.ID, Remove: []string{a.UserID}}},
		Touch: map[string]time.Time{c.ID: s.cfg.Now().UTC()}}
	if len(ps) > 1 && c.Type != store.TypeChannel { // a channel's subscribers are not told of each other
		if err := s.addNotices(ctx, a, c, b, noticeLeft, []string{a.UserID}); err != nil {
			return err
		}
	}
	err = s.gc.commit(ctx, b, a.Conn)
	if errors.Is(err, store.ErrNotFound) { // left meanwhile (another tab), or the conversation is gone
		return protocol.ErrParticipantNotFound
	}
	return err
}

// SearchConversations is conversation_search: ids of the caller's own
// conversations and of the organization's channels (subscribed or not:
// that is how a user finds a channel) by name prefix, taken literally
// (SAMA searched every conversation of the organization with an unescaped
// regular expression).
func (s *Service) SearchConversations(ctx context.Context, a Actor, name string, updatedAfter time.Time, limit int) ([]string, error) {
	if name == "" {
		return nil, protocol.FieldRequired("name")
	}
	if limit <= 0 || limit > 30 {
		limit = 30
	}
	ids, err := s.st.SearchConversations(ctx, a.OrgID, a.UserID, name, updatedAfter, limit)
	if err != nil {
		return nil, fmt.Errorf("search conversations: %w", err)
	}
	return ids, nil
}
