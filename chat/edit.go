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
// checked neither), and tells the members with message_edit. The log keeps
// no old body: the message's own event is rewritten and earlier edits are
// redacted in the same commit.
func (s *Service) EditMessage(ctx context.Context, a Actor, id, body string) error {
	if id == "" {
		return protocol.ErrMessageIDNotFound
	}
	if body == "" {
		return protocol.ErrBodyOrAttachments
	}
	if len(body) > maxBody {
		return protocol.Invalid("body", fmt.Sprintf("'body' max length %d", maxBody))
	}
	m, err := s.st.MessageByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return protocol.ErrMessageIDNotFound
	}
	if err != nil {
		return fmt.Errorf("load message: %w", err)
	}
	c, err := s.member(ctx, a, m.ConversationID)
	if errors.Is(err, protocol.ErrConversationNotFound) || errors.Is(err, protocol.ErrForbidden) {
		return protocol.ErrMessageIDNotFound // another org's or conversation's message: do not reveal it
	}
	if err != nil {
		return err
	}
	if m.From != a.UserID {
		return protocol.ErrForbidden
	}
	if c.Type == store.TypeChannel { // an admin who was demoted edits no more
		p, err := s.st.Participant(ctx, c.ID, a.UserID)
		if err != nil {
			return fmt.Errorf("load participant: %w", err)
		}
		if !isPoster(p) {
			return protocol.ErrForbidden
		}
	}
	now := s.cfg.Now().UTC()
	m.Body, m.UpdatedAt = body, now
	rewritten, err := messageEvent(m, c.Type)
	if err != nil {
		return err
	}
	b := &store.Batch{Edits: []store.MessageEdit{{ConversationID: c.ID, ID: m.ID, Body: body, At: now, Payload: rewritten}}}
	return s.logged(ctx, a, b, c.ID, m.ID, "message_edit", map[string]any{"id": m.ID, "cid": c.ID, "c_type": c.Type, "from": a.UserID, "body": body})
}

// DeleteMessages deletes messages of a conversation: "myself" hides them for
// the caller only (no event); "all" deletes them for everyone and tells the
// members, allowed for the author or, in a group, the owner and admins.
func (s *Service) DeleteMessages(ctx context.Context, a Actor, cid string, ids []string, typ string) error {
	switch {
	case typ == "":
		return protocol.ErrMessageTypeMissed
	case typ != "all" && typ != "myself":
		return protocol.ErrConvTypeIncorrect
	case len(ids) == 0:
		return protocol.ErrMessageIDMissed
	}
	if err := maxLength("ids", len(ids), s.cfg.MaxListIDs); err != nil {
		return err
	}
	c, err := s.member(ctx, a, cid)
	if err != nil {
		return err
	}
	if typ == "myself" {
		return s.st.HideMessages(ctx, c.ID, a.UserID, ids)
	}
	p, err := s.st.Participant(ctx, c.ID, a.UserID)
	if err != nil {
		return fmt.Errorf("load participant: %w", err)
	}
	moderator := c.Type != store.TypePrivate && isPoster(p)
	ms, err := s.st.ConversationMessages(ctx, c.ID, store.MessageQuery{IDs: ids, Limit: len(ids)})
	if err != nil {
		return fmt.Errorf("load messages: %w", err)
	}
	var found []string
	for _, m := range ms {
		if m.From != a.UserID && !moderator {
			return protocol.ErrForbidden
		}
		found = append(found, m.ID)
	}
	if len(found) == 0 {
		return nil
	}
	slices.Sort(found)
	b := &store.Batch{Deletes: []store.MessageDelete{{ConversationID: c.ID, IDs: found}}}
	return s.logged(ctx, a, b, c.ID, "", "message_delete", map[string]any{"ids": found, "cid": c.ID, "c_type": c.Type, "from": a.UserID, "type": "all"})
}

// logged commits b with one conversation event, its id in "eid" (ref names
// the message it concerns, if any).
func (s *Service) logged(ctx context.Context, a Actor, b *store.Batch, cid, ref, name string, payload map[string]any) error {
	now := s.cfg.Now().UTC()
	id := s.ids.Next(now)
	payload["eid"] = id
	frame, err := event(name, payload)
	if err != nil {
		return err
	}
	b.Events = append(b.Events, store.Event{ID: id, ConversationID: cid, RefID: ref, Payload: frame, CreatedAt: now})
	b.Require = require(a, cid) // checked at the commit: the caller may have been removed since
	return s.writeErr(cid, s.gc.commit(ctx, b, a.Conn))
}
