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

// UpdateConversation changes a conversation. Groups need the owner or an
// admin; a private chat allows field changes only. Removing the owner hands
// ownership to the next member; removing everybody deletes it. Members get
// x.conversation_updated, removed users x.conversation_kicked (both logged).
func (s *Service) UpdateConversation(ctx context.Context, a Actor, in ConversationUpdate) (*UpdateResult, error) {
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
	me, err := s.st.Participant(ctx, c.ID, a.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrForbidden
	}
	if err != nil {
		return nil, fmt.Errorf("load participant: %w", err)
	}
	membership := len(in.AddParticipants)+len(in.RemoveParticipants)+len(in.AddAdmins)+len(in.RemoveAdmins) > 0
	if c.Type == store.TypeGroup && me.Role != store.RoleOwner && me.Role != store.RoleAdmin {
		return nil, protocol.ErrForbidden
	}
	if c.Type == store.TypePrivate && membership {
		return nil, protocol.ErrForbidden
	}
	now := s.cfg.Now().UTC()
	if in.Name != nil {
		if c.Type == store.TypeGroup && *in.Name == "" {
			return nil, protocol.ErrConvNameMissing
		}
		c.Name = *in.Name
	}
	if in.Description != nil {
		c.Description = *in.Description
	}

	var removed, added []string
	if len(in.AddParticipants) > 0 {
		users, err := s.st.UsersByIDs(ctx, a.OrgID, in.AddParticipants)
		if err != nil {
			return nil, fmt.Errorf("load users: %w", err)
		}
		current, err := s.memberIDs(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		var add []store.Participant
		for _, u := range users {
			if !slices.Contains(current, u.ID) {
				add = append(add, store.Participant{UserID: u.ID, JoinedAt: now})
				added = append(added, u.ID)
			}
		}
		if len(current)+len(add) > s.cfg.MaxParticipants {
			return nil, protocol.ErrParticipantLimit
		}
		if err := s.st.AddParticipants(ctx, c.ID, add); err != nil {
			return nil, err
		}
	}
	left := -1
	for _, uid := range in.RemoveParticipants {
		n, err := s.st.RemoveParticipant(ctx, c.ID, uid)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		removed, left = append(removed, uid), n
	}
	if left == 0 {
		if err := s.st.DeleteConversation(ctx, a.OrgID, c.ID); err != nil {
			return nil, err
		}
		return &UpdateResult{Deleted: true}, nil
	}
	for _, uid := range in.AddAdmins {
		if uid != c.OwnerID {
			if err := s.st.SetRole(ctx, c.ID, uid, store.RoleAdmin); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	for _, uid := range in.RemoveAdmins {
		if uid != c.OwnerID {
			if err := s.st.SetRole(ctx, c.ID, uid, store.RoleMember); err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
		}
	}
	members, err := s.memberIDs(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	if slices.Contains(removed, c.OwnerID) && len(members) > 0 { // hand ownership on
		c.OwnerID = members[0]
		if err := s.st.SetRole(ctx, c.ID, c.OwnerID, store.RoleOwner); err != nil {
			return nil, err
		}
	}
	c.UpdatedAt = now
	if err := s.st.UpdateConversation(ctx, c); err != nil {
		return nil, fmt.Errorf("update conversation: %w", err)
	}
	view := conversationView(c)
	b := &store.Batch{Touch: map[string]time.Time{c.ID: now}}
	// One commit, in a fixed order: the update to the members, each removed
	// user's kick, then the notices of who was added and who removed.
	encode := func(kind, eid string) ([]byte, error) {
		return event("system_message", map[string]any{"_id": c.ID, "from": a.UserID, "t": now.Unix(),
			"x": map[string]any{kind: view}, "cid": c.ID, "eid": eid})
	}
	add := func(kind, cid, uid string) error {
		id := s.ids.Next(now)
		frame, err := encode(kind, id)
		if err != nil {
			return err
		}
		b.Events = append(b.Events, store.Event{ID: id, ConversationID: cid, UserID: uid, Payload: frame, CreatedAt: now})
		return nil
	}
	if err := add("conversation_updated", c.ID, ""); err != nil {
		return nil, err
	}
	for _, uid := range removed {
		if err := add("conversation_kicked", "", uid); err != nil {
			return nil, err
		}
	}
	if c.Type == store.TypeGroup {
		if err := s.addNotices(ctx, a, c, b, noticeAdded, added); err != nil {
			return nil, err
		}
		if err := s.addNotices(ctx, a, c, b, noticeRemoved, removed); err != nil {
			return nil, err
		}
	}
	if err := s.gc.commit(ctx, b, a.Conn); err != nil {
		return nil, err
	}
	return &UpdateResult{Conversation: view}, nil
}
