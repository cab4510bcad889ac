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

// addNotices adds to b one notice message per user (from the actor) with
// its event; the members as of the commit receive them.
func (s *Service) addNotices(ctx context.Context, a Actor, c *store.Conversation, b *store.Batch, kind string, userIDs []string) error {
	if len(userIDs) == 0 {
		return nil
	}
	users, err := s.st.UsersByIDs(ctx, a.OrgID, userIDs)
	if err != nil {
		return fmt.Errorf("load users: %w", err)
	}
	now := s.cfg.Now().UTC()
	if b.Touch == nil {
		b.Touch = map[string]time.Time{}
	}
	b.Touch[c.ID] = now
	for _, u := range users {
		x, err := json.Marshal(map[string]any{"type": kind, "user": noticeUser{ID: u.ID, NativeID: u.ID, Login: u.Login}})
		if err != nil {
			return err
		}
		m := store.Message{ID: s.ids.Next(now), ConversationID: c.ID, From: a.UserID, Body: fmt.Sprintf(noticeText[kind], u.Login),
			X: x, T: now.Unix(), CreatedAt: now, UpdatedAt: now}
		frame, err := messageEvent(&m, c.Type)
		if err != nil {
			return err
		}
		b.Messages = append(b.Messages, m)
		b.Events = append(b.Events, store.Event{ID: m.ID, ConversationID: c.ID, Payload: frame, CreatedAt: now})
	}
	return nil
}
