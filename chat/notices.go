package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/samagate/samagate/store"
)

// Membership notices are real stored messages, as SAMA sends them, so that
// every member's history shows who joined and left: body "<login> has been
// added to the conversation", x {"type":"added_participant","user":{..}}.
const (
	noticeAdded   = "added_participant"
	noticeRemoved = "removed_participant"
	noticeLeft    = "left_participants"
)

var noticeText = map[string]string{
	noticeAdded:   "%s has been added to the conversation",
	noticeRemoved: "%s has been removed from the conversation",
	noticeLeft:    "%s has left the conversation",
}

// noticeUser is the user object inside a notice's x.
type noticeUser struct {
	ID       string `json:"_id"`
	NativeID string `json:"native_id"`
	Login    string `json:"login"`
}

// notices stores one notice message per user (from the actor) with its
// event, and returns the deliveries to the conversation's current members.
func (s *Service) notices(ctx context.Context, a Actor, c *store.Conversation, kind string, userIDs []string) ([]Delivery, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	users, err := s.st.UsersByIDs(ctx, a.OrgID, userIDs)
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	members, err := s.memberIDs(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	b := &store.Batch{Touch: map[string]time.Time{c.ID: now}}
	var out []Delivery
	for _, u := range users {
		x, err := json.Marshal(map[string]any{"type": kind, "user": noticeUser{ID: u.ID, NativeID: u.ID, Login: u.Login}})
		if err != nil {
			return nil, err
		}
		m := store.Message{ID: s.ids.Next(now), ConversationID: c.ID, From: a.UserID, Body: fmt.Sprintf(noticeText[kind], u.Login),
			X: x, T: now.Unix(), CreatedAt: now, UpdatedAt: now}
		view := messageView(&m, c.Type, "", "")
		view.EID = m.ID
		frame, err := event("message", view)
		if err != nil {
			return nil, err
		}
		b.Messages = append(b.Messages, m)
		b.Events = append(b.Events, store.Event{ID: m.ID, ConversationID: c.ID, Payload: frame, CreatedAt: now})
		out = append(out, Delivery{Frame: frame, UserIDs: members, EventID: m.ID})
	}
	if err := s.gc.commit(ctx, b); err != nil {
		return nil, err
	}
	return out, nil
}
