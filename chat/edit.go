package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// EditMessage changes the body of the caller's own message, scoped to a
// conversation of the caller's organization the caller belongs to (SAMA
// checked neither), and tells the members with message_edit.
func (s *Service) EditMessage(ctx context.Context, a Actor, id, body string) (*Delivery, error) {
	if id == "" {
		return nil, protocol.ErrMessageIDNotFound
	}
	if body == "" {
		return nil, protocol.ErrBodyOrAttachments
	}
	if len(body) > maxBody {
		return nil, protocol.Invalid("body", fmt.Sprintf("'body' max length %d", maxBody))
	}
	m, err := s.st.MessageByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, protocol.ErrMessageIDNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load message: %w", err)
	}
	c, err := s.member(ctx, a, m.ConversationID)
	if errors.Is(err, protocol.ErrConversationNotFound) || errors.Is(err, protocol.ErrForbidden) {
		return nil, protocol.ErrMessageIDNotFound // another org's or conversation's message: do not reveal it
	}
	if err != nil {
		return nil, err
	}
	if m.From != a.UserID {
		return nil, protocol.ErrForbidden
	}
	now := s.cfg.Now().UTC()
	if err := s.st.EditMessage(ctx, m.ID, body, now); err != nil {
		return nil, fmt.Errorf("edit message: %w", err)
	}
	return s.logged(ctx, c.ID, "message_edit", map[string]any{"id": m.ID, "cid": c.ID, "c_type": c.Type, "from": a.UserID, "body": body})
}

// DeleteMessages deletes messages of a conversation: "myself" hides them for
// the caller only (no event); "all" deletes them for everyone and tells the
// members, allowed for the author or, in a group, the owner and admins.
func (s *Service) DeleteMessages(ctx context.Context, a Actor, cid string, ids []string, typ string) (*Delivery, error) {
	switch {
	case typ == "":
		return nil, protocol.ErrMessageTypeMissed
	case typ != "all" && typ != "myself":
		return nil, protocol.ErrConvTypeIncorrect
	case len(ids) == 0:
		return nil, protocol.ErrMessageIDMissed
	case len(ids) > 100:
		return nil, protocol.Invalid("ids", "'ids' max length 100")
	}
	c, err := s.member(ctx, a, cid)
	if err != nil {
		return nil, err
	}
	if typ == "myself" {
		return nil, s.st.HideMessages(ctx, c.ID, a.UserID, ids)
	}
	p, err := s.st.Participant(ctx, c.ID, a.UserID)
	if err != nil {
		return nil, fmt.Errorf("load participant: %w", err)
	}
	moderator := c.Type == store.TypeGroup && (p.Role == store.RoleOwner || p.Role == store.RoleAdmin)
	ms, err := s.st.ConversationMessages(ctx, c.ID, store.MessageQuery{IDs: ids, Limit: len(ids)})
	if err != nil {
		return nil, fmt.Errorf("load messages: %w", err)
	}
	var found []string
	for _, m := range ms {
		if m.From != a.UserID && !moderator {
			return nil, protocol.ErrForbidden
		}
		found = append(found, m.ID)
	}
	if len(found) == 0 {
		return nil, nil
	}
	slices.Sort(found)
	if err := s.st.DeleteMessages(ctx, c.ID, found); err != nil {
		return nil, err
	}
	return s.logged(ctx, c.ID, "message_delete", map[string]any{"ids": found, "cid": c.ID, "c_type": c.Type, "from": a.UserID, "type": "all"})
}

// logged stores a conversation event, its position in "eid", and returns
// its delivery to the members.
func (s *Service) logged(ctx context.Context, cid, name string, payload map[string]any) (*Delivery, error) {
	now := s.cfg.Now().UTC()
	id := s.ids.Next(now)
	payload["eid"] = id
	frame, err := event(name, payload)
	if err != nil {
		return nil, err
	}
	if err := s.gc.commit(ctx, &store.Batch{Events: []store.Event{{ID: id, ConversationID: cid, Payload: frame, CreatedAt: now}}}); err != nil {
		return nil, err
	}
	members, err := s.memberIDs(ctx, cid)
	if err != nil {
		return nil, err
	}
	return &Delivery{Frame: frame, UserIDs: members, EventID: id}, nil
}
