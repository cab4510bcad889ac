package gateway

import (
	"context"
	"encoding/json"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// Reactions is what the reaction handlers need from chat (implemented by
// *chat.Service).
type Reactions interface {
	UpdateReactions(ctx context.Context, a chat.Actor, in chat.ReactionsUpdate) error
	ListReactions(ctx context.Context, a chat.Actor, mid string) (map[string][]string, error)
}

// messageID reads a message id that SAMA takes only as a string: anything
// else (missing, a number, an object) is 422 Incorrect message ID.
func messageID(raw json.RawMessage) (string, error) {
	var id string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &id) != nil || id == "" {
		return "", protocol.ErrIncorrectMessageID
	}
	return id, nil
}

// handleReactionsUpdate: {mid, add?, remove?} -> {"success":true}; the
// members get message_reactions_update when something changed.
func (g *Gateway) handleReactionsUpdate(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		MID    json.RawMessage `json:"mid"`
		Add    *string         `json:"add"`
		Remove *string         `json:"remove"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	mid, err := messageID(prm.MID)
	if err != nil {
		return nil, err
	}
	if err := g.chat.UpdateReactions(ctx, actor(s, c), chat.ReactionsUpdate{MID: mid, Add: prm.Add, Remove: prm.Remove}); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleReactionsList: {mid} -> {"reactions":{"<reaction>":["<uid>",..]}}.
func (g *Gateway) handleReactionsList(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		MID json.RawMessage `json:"mid"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	mid, err := messageID(prm.MID)
	if err != nil {
		return nil, err
	}
	rs, err := g.chat.ListReactions(ctx, actor(s, c), mid)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("reactions", rs))
}
