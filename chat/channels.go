package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Channels (store.TypeChannel) are conversations where the owner and the
// admins post and everybody else subscribes and reads. Subscribers are
// participants with no role, so a post is one message and one logged
// event like a group's, delivered by the same ordered pipeline to every
// member the commit reads; the group limit (MaxParticipants) does not bound
// them. What subscribers may not do is refused with SAMA's 403 Forbidden.:
// post, edit, mark read, type; system messages into a channel are the
// posters' too.

// mayPost refuses (403) a member who may not write into e: a channel's
// subscriber.
func mayPost(a Actor, e *convEntry) error {
	if e.typ == store.TypeChannel && !slices.Contains(e.posters, a.UserID) {
		return protocol.ErrForbidden
	}
	return nil
}

// notInChannel refuses (403) what nobody does in a channel: read marks and
// typing (SAMA refuses them to admins too).
func notInChannel(e *convEntry) error {
	if e.typ == store.TypeChannel {
		return protocol.ErrForbidden
	}
	return nil
}

// isPoster reports whether p is a channel's owner or admin.
func isPoster(p *store.Participant) bool {
	return p.Role == store.RoleOwner || p.Role == store.RoleAdmin
}

// channel loads the channel cid of a's organization for
// conversation_subscribe / conversation_unsubscribe: a missing cid is 422,
// an unknown id or a conversation that is not a channel 400 Bad Request.
// (SAMA's answers).
func (s *Service) channel(ctx context.Context, a Actor, cid string) (*store.Conversation, error) {
	if cid == "" {
		return nil, protocol.FieldRequired("cid")
	}
	c, err := s.st.Conversation(ctx, a.OrgID, cid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrBadRequest
	}
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	if c.Type != store.TypeChannel {
		return nil, protocol.ErrBadRequest
	}
	return c, nil
}

// Subscribe is conversation_subscribe: a joins the channel as a subscriber
// (no role), in a commit of its own with no event (SAMA tells nobody), so
// every post committed after it is theirs, live and in catch-up. Already
// subscribed (or its owner or an admin) is success.
func (s *Service) Subscribe(ctx context.Context, a Actor, cid string) error {
	c, err := s.channel(ctx, a, cid)
	if err != nil {
		return err
	}
	if _, err := s.st.Participant(ctx, c.ID, a.UserID); err == nil {
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("load participant: %w", err)
	}
	now := s.cfg.Now().UTC()
	b := &store.Batch{Changes: []store.ConversationChange{{ConversationID: c.ID,
		Add: []store.Participant{{UserID: a.UserID, Role: store.RoleMember, JoinedAt: now}}}}}
	err = s.gc.commit(ctx, b, a.Conn)
	switch {
	case errors.Is(err, store.ErrConflict): // subscribed meanwhile (another tab)
		return nil
	case errors.Is(err, store.ErrNotFound): // deleted meanwhile
		return protocol.ErrBadRequest
	}
	return err
}

// Unsubscribe is conversation_unsubscribe: a leaves the channel, without
// the "has left" notice a group gets (a channel's subscribers are not told
// of each other). Not subscribed is success (SAMA). An owner who
// unsubscribes hands the channel on like a group's (store.Heir); the last
// member out deletes it.
func (s *Service) Unsubscribe(ctx context.Context, a Actor, cid string) error {
	c, err := s.channel(ctx, a, cid)
	if err != nil {
		return err
	}
	if _, err := s.st.Participant(ctx, c.ID, a.UserID); errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return fmt.Errorf("load participant: %w", err)
	}
	b := &store.Batch{Changes: []store.ConversationChange{{ConversationID: c.ID, Remove: []string{a.UserID}}}}
	if err := s.gc.commit(ctx, b, a.Conn); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// AdminsOf is get_admins_by_cids: for each of cids where the caller is the
// owner or an admin, the ids of its owner and admins (user id descending);
// other conversations are left out. At most MaxListIDs cids (422).
func (s *Service) AdminsOf(ctx context.Context, a Actor, cids []string) (map[string][]string, error) {
	if err := maxLength("cids", len(cids), s.cfg.MaxListIDs); err != nil {
		return nil, err
	}
	out, err := s.st.ConversationAdmins(ctx, a.OrgID, a.UserID, cids)
	if err != nil {
		return nil, fmt.Errorf("admins: %w", err)
	}
	return out, nil
}

// countSubscribers sets subscribers_count on the channels among vs, in one
// query.
func (s *Service) countSubscribers(ctx context.Context, vs ...*Conversation) error {
	var ids []string
	for _, v := range vs {
		if v.Type == store.TypeChannel {
			ids = append(ids, v.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	n, err := s.st.MemberCounts(ctx, ids)
	if err != nil {
		return fmt.Errorf("count subscribers: %w", err)
	}
	for _, v := range vs {
		if v.Type == store.TypeChannel {
			c := n[v.ID]
			v.SubscribersCount = &c
		}
	}
	return nil
}
