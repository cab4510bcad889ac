package chat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// ConversationUpdate is conversation_update; nil fields are left alone.
type ConversationUpdate struct {
	ID                 string
	Name, Description  *string
	AddParticipants    []string
	RemoveParticipants []string
	AddAdmins          []string
	RemoveAdmins       []string
}

// UpdateResult is the new state, or Deleted when the last member was removed.
type UpdateResult struct {
	Conversation *Conversation
	Deleted      bool
}

// updateAttempts is how often conversation_update is planned and committed
// when a concurrent change made its plan stale (a member to remove has
// left, one to add has joined, the conversation is gone) before the caller
// gets 503.
const updateAttempts = 3

// errOwnerRemoval is the answer to an admin who removes the owner.
var errOwnerRemoval = protocol.ErrForbidden.WithField("participants.remove", "only the owner can remove the owner")

// UpdateConversation changes a conversation's fields, members and admins in
// one commit together with the events that tell of it
// (store.ConversationChange), so a crash cannot leave members changed and
// nobody told, and the rules are checked again inside the commit.
//
// Groups need the owner or an admin; a private chat allows field changes
// only (403). An admin may not remove the owner (403): the owner leaves
// (conversation_delete) or removes themselves, and ownership passes to the
// admin who has been a member longest, else to the longest member
// (store.Heir). The owner's role is not changed through admins. Each list
// holds at most MaxParticipants ids (422), and an add may not take the
// group past MaxParticipants (422). Removing everybody deletes the
// conversation. Members get x.conversation_updated and, in groups, the
// stored notices of who was added and removed; removed users get
// x.conversation_kicked.
func (s *Service) UpdateConversation(ctx context.Context, a Actor, in ConversationUpdate) (*UpdateResult, error) {
	if err := s.checkUpdateLists(in); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		res, err := s.updateOnce(ctx, a, in)
		switch {
		case errors.Is(err, store.ErrFull):
			return nil, protocol.ErrParticipantLimit
		case !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict):
			return res, err
		case attempt == updateAttempts:
			return nil, protocol.ErrServerBusy
		}
	}
}

// checkUpdateLists bounds every list of a conversation_update.
func (s *Service) checkUpdateLists(in ConversationUpdate) error {
	for _, l := range []struct {
		field string
		ids   []string
	}{
		{"participants.add", in.AddParticipants}, {"participants.remove", in.RemoveParticipants},
		{"admins.add", in.AddAdmins}, {"admins.remove", in.RemoveAdmins},
	} {
		if err := maxLength(l.field, len(l.ids), s.cfg.MaxParticipants); err != nil {
			return err
		}
	}
	return nil
}

// updateOnce reads the conversation, plans the update from it and commits
// it; a stale plan fails the commit with store.ErrNotFound or ErrConflict.
func (s *Service) updateOnce(ctx context.Context, a Actor, in ConversationUpdate) (*UpdateResult, error) {
	cur, err := s.loadForUpdate(ctx, a, in)
	if err != nil {
		return nil, err
	}
	p, err := s.planUpdate(ctx, a, cur, in)
	if err != nil {
		return nil, err
	}
	b, err := s.updateBatch(ctx, a, cur.c, p)
	if err != nil {
		return nil, err
	}
	if err := s.gc.commit(ctx, b, a.Conn); err != nil {
		return nil, err
	}
	done := b.Changes[0]
	if done.Deleted {
		return &UpdateResult{Deleted: true}, nil
	}
	p.view.OwnerID = done.OwnerID // as committed (the events carry the owner as planned)
	return &UpdateResult{Conversation: p.view}, nil
}

// convState is a conversation and its members as a change is planned from
// them.
type convState struct {
	c  *store.Conversation
	ps []store.Participant
}

// member is uid's participant row, nil for a non-member.
func (cs *convState) member(uid string) *store.Participant {
	i := slices.IndexFunc(cs.ps, func(p store.Participant) bool { return p.UserID == uid })
	if i < 0 {
		return nil
	}
	return &cs.ps[i]
}

// loadForUpdate reads the conversation and its members and checks the
// caller's right to change it: 400 unknown, 403 not a member, not the
// owner or an admin of a group, or members of a private chat.
func (s *Service) loadForUpdate(ctx context.Context, a Actor, in ConversationUpdate) (*convState, error) {
	if in.ID == "" {
		return nil, protocol.FieldRequired("id")
	}
	c, err := s.st.Conversation(ctx, a.OrgID, in.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrBadRequest
	}
	if err != nil {
		return nil, fmt.Errorf("load conversation: %w", err)
	}
	ps, err := s.st.Participants(ctx, c.ID)
	if err != nil {
		return nil, fmt.Errorf("load participants: %w", err)
	}
	cur := &convState{c: c, ps: ps}
	me := cur.member(a.UserID)
	membership := len(in.AddParticipants)+len(in.RemoveParticipants)+len(in.AddAdmins)+len(in.RemoveAdmins) > 0
	switch {
	case me == nil:
		return nil, protocol.ErrForbidden
	case c.Type != store.TypePrivate && me.Role != store.RoleOwner && me.Role != store.RoleAdmin:
		return nil, protocol.ErrForbidden
	case c.Type == store.TypePrivate && membership:
		return nil, protocol.ErrForbidden
	}
	return cur, nil
}

// updatePlan is what one conversation_update does, decided from the state
// it read: the change to commit, who is added and removed, and the
// conversation as it will be.
type updatePlan struct {
	now            time.Time
	change         store.ConversationChange
	added, removed []string
	deleted        bool // everybody is removed
	view           *Conversation
}

// planUpdate decides the update from cur, with its rules: the name,
// members and the group size.
func (s *Service) planUpdate(ctx context.Context, a Actor, cur *convState, in ConversationUpdate) (*updatePlan, error) {
	p := &updatePlan{now: s.cfg.Now().UTC(), change: store.ConversationChange{ConversationID: cur.c.ID}}
	next := *cur.c
	if err := planFields(&next, in, &p.change); err != nil {
		return nil, err
	}
	if err := s.planAdds(ctx, a, cur, in, p); err != nil {
		return nil, err
	}
	if err := planRemovals(a, cur, in, p); err != nil {
		return nil, err
	}
	p.change.Roles = planRoles(cur.c.OwnerID, in)
	size := len(cur.ps) + len(p.added) - len(p.removed)
	if len(p.added) > 0 && cur.c.Type != store.TypeChannel { // a channel's subscribers are not limited
		if size > s.cfg.MaxParticipants {
			return nil, protocol.ErrParticipantLimit
		}
		p.change.MaxMembers = s.cfg.MaxParticipants // checked again in the commit
	}
	p.deleted = len(p.removed) > 0 && size == 0
	if slices.Contains(p.removed, next.OwnerID) && next.Type != store.TypePrivate {
		next.OwnerID = store.Heir(p.remaining(cur))
	}
	next.UpdatedAt = p.now
	p.view = conversationView(&next)
	if next.Type == store.TypeChannel {
		n := size
		p.view.SubscribersCount = &n
	}
	return p, nil
}

// planFields checks and sets the name and the description.
func planFields(next *store.Conversation, in ConversationUpdate, ch *store.ConversationChange) error {
	if in.Name != nil {
		switch {
		case next.Type == store.TypeGroup && *in.Name == "":
			return protocol.ErrConvNameMissing
		case len(*in.Name) > maxName:
			return protocol.Invalid("name", fmt.Sprintf("'name' max length %d", maxName))
		}
		next.Name, ch.Name = *in.Name, in.Name
	}
	if in.Description != nil {
		next.Description, ch.Description = *in.Description, in.Description
	}
	return nil
}

// planAdds adds the users of the organization among in.AddParticipants who
// are not members yet; in a channel, also those among in.AddAdmins, who
// join as admins (SAMA: making a non-subscriber an admin subscribes them).
func (s *Service) planAdds(ctx context.Context, a Actor, cur *convState, in ConversationUpdate, p *updatePlan) error {
	if err := s.planAddsAs(ctx, a, cur, in.AddParticipants, store.RoleMember, p); err != nil {
		return err
	}
	if cur.c.Type == store.TypeChannel {
		return s.planAddsAs(ctx, a, cur, in.AddAdmins, store.RoleAdmin, p)
	}
	return nil
}

// planAddsAs adds the users of ids who are not members yet with role.
func (s *Service) planAddsAs(ctx context.Context, a Actor, cur *convState, ids []string, role string, p *updatePlan) error {
	if len(ids) == 0 {
		return nil
	}
	users, err := s.st.UsersByIDs(ctx, a.OrgID, ids)
	if err != nil {
		return fmt.Errorf("load users: %w", err)
	}
	for _, u := range users {
		if cur.member(u.ID) == nil && !slices.Contains(p.added, u.ID) {
			p.added = append(p.added, u.ID)
			p.change.Add = append(p.change.Add, store.Participant{UserID: u.ID, Role: role, JoinedAt: p.now})
		}
	}
	return nil
}

// planRemovals removes the members among in.RemoveParticipants; only the
// owner may remove the owner.
func planRemovals(a Actor, cur *convState, in ConversationUpdate, p *updatePlan) error {
	for _, uid := range in.RemoveParticipants {
		if cur.member(uid) == nil || slices.Contains(p.removed, uid) {
			continue
		}
		if uid == cur.c.OwnerID && uid != a.UserID && cur.c.Type != store.TypePrivate {
			return errOwnerRemoval
		}
		p.removed = append(p.removed, uid)
	}
	p.change.Remove = p.removed
	return nil
}

// planRoles maps the admins lists onto roles, the owner's left alone;
// removal wins over an add of the same user.
func planRoles(owner string, in ConversationUpdate) map[string]string {
	if len(in.AddAdmins)+len(in.RemoveAdmins) == 0 {
		return nil
	}
	roles := map[string]string{}
	for _, uid := range in.AddAdmins {
		if uid != owner {
			roles[uid] = store.RoleAdmin
		}
	}
	for _, uid := range in.RemoveAdmins {
		if uid != owner {
			roles[uid] = store.RoleMember
		}
	}
	return roles
}

// remaining are the members after the plan, with their new roles; the
// added ones joined after everybody else.
func (p *updatePlan) remaining(cur *convState) []store.Participant {
	var out []store.Participant
	for _, m := range cur.ps {
		if !slices.Contains(p.removed, m.UserID) {
			out = append(out, m)
		}
	}
	for _, uid := range p.added {
		out = append(out, store.Participant{UserID: uid, JoinedPos: math.MaxInt64})
	}
	for i := range out {
		if role, ok := p.change.Roles[out[i].UserID]; ok {
			out[i].Role = role
		}
	}
	return out
}

// updateBatch is the commit of an update: the change, and in a fixed order
// the update to the members, each removed user's kick, then the notices of
// who was added and who removed. A deleted conversation has nobody left to
// tell but the removed.
func (s *Service) updateBatch(ctx context.Context, a Actor, c *store.Conversation, p *updatePlan) (*store.Batch, error) {
	b := &store.Batch{Changes: []store.ConversationChange{p.change}, Touch: map[string]time.Time{c.ID: p.now}}
	add := func(kind, cid, uid string) error {
		id := s.ids.Next(p.now)
		frame, err := event("system_message", map[string]any{"_id": c.ID, "from": a.UserID, "t": p.now.Unix(),
			"x": map[string]any{kind: p.view}, "cid": c.ID, "eid": id})
		if err != nil {
			return err
		}
		b.Events = append(b.Events, store.Event{ID: id, ConversationID: cid, UserID: uid, Payload: frame, CreatedAt: p.now})
		return nil
	}
	if !p.deleted {
		if err := add("conversation_updated", c.ID, ""); err != nil {
			return nil, err
		}
	}
	for _, uid := range p.removed {
		if err := add("conversation_kicked", "", uid); err != nil {
			return nil, err
		}
	}
	if c.Type == store.TypeGroup && !p.deleted {
		if err := s.addNotices(ctx, a, c, b, noticeAdded, p.added); err != nil {
			return nil, err
		}
		if err := s.addNotices(ctx, a, c, b, noticeRemoved, p.removed); err != nil {
			return nil, err
		}
	}
	return b, nil
}
