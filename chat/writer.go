package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// writer checks that a may write into conversation cid of a's organization
// (404 Conversation not found. / 403 Forbidden.), from the membership cache
// when it can, else from two reads that refresh the cache. It is a
// pre-check, for the paths that commit (or only deliver live: typing): the
// batch it lets through carries require(a, cid), which the commit checks
// against the members it reads, so a member removed since (on any node)
// cannot write, and writeErr turns that refusal into the same 403.
func (s *Service) writer(ctx context.Context, a Actor, cid string) (*convEntry, error) {
	if cid == "" {
		return nil, protocol.FieldRequired("cid")
	}
	if s.cache == nil {
		c, err := s.member(ctx, a, cid)
		if err != nil {
			return nil, err
		}
		e := &convEntry{id: c.ID, org: c.OrgID, typ: c.Type, owner: c.OwnerID, opponent: c.OpponentID}
		if c.Type == store.TypeChannel {
			p, err := s.st.Participant(ctx, c.ID, a.UserID)
			if err != nil {
				return nil, fmt.Errorf("load participant: %w", err)
			}
			if p.Role == store.RoleOwner || p.Role == store.RoleAdmin {
				e.posters = []string{a.UserID}
			}
		}
		return e, nil
	}
	if e := s.cache.get(cid); e != nil {
		if e.org != a.OrgID {
			return nil, protocol.ErrConversationNotFound
		}
		if s.cache.has(e, a.UserID) {
			return e, nil
		}
		// Not a member as far as the cache knows: perhaps added since.
	}
	gen := s.cache.generation(cid)
	c, err := s.st.Conversation(ctx, a.OrgID, cid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrConversationNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	ps, err := s.st.Participants(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	e := s.cache.entry(c, ps)
	s.cache.put(e, gen)
	if !s.cache.has(e, a.UserID) {
		return nil, protocol.ErrForbidden
	}
	return e, nil
}

// require is the membership a batch of a into cid needs at its commit.
func require(a Actor, cid string) []store.Membership {
	return []store.Membership{{ConversationID: cid, UserID: a.UserID}}
}

// writeErr maps the error of a commit that writer let through: the writer
// is no longer a member (403 Forbidden.) or the conversation is gone (404
// Conversation not found.). Either way the cache forgets the conversation,
// whether or not this node has observed the commit that changed it.
func (s *Service) writeErr(cid string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotMember):
		s.forget(cid)
		return protocol.ErrForbidden
	case errors.Is(err, store.ErrNotFound):
		s.forget(cid)
		return protocol.ErrConversationNotFound
	case errors.Is(err, store.ErrBlocked):
		return protocol.ErrUserBlocked
	}
	return err
}

// forget drops what the cache holds of cid.
func (s *Service) forget(cid string) {
	if s.cache != nil {
		s.cache.invalidate(cid)
	}
}
