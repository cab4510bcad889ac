package gateway

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// Blocks is what the block-list handlers need from chat (implemented by
// *chat.Service).
type Blocks interface {
	BlockUsers(ctx context.Context, a chat.Actor, ids []string) error
	UnblockUsers(ctx context.Context, a chat.Actor, ids []string) error
	BlockedUsers(ctx context.Context, a chat.Actor) ([]string, error)
	EnableBlockList(ctx context.Context, a chat.Actor, enable bool) error
}

// blockParams are the params of block_user and unblock_user: SAMA's
// clients have sent {ids:[..]} (current) and {id} (older), each id a
// string or a number.
type blockParams struct {
	IDs json.RawMessage `json:"ids"`
	ID  json.RawMessage `json:"id"`
}

// list returns the ids sent, a single one as a list of one; anything
// malformed is 422 User ID missed.
func (p blockParams) list() ([]string, error) {
	raw := bytes.TrimSpace(p.IDs)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = bytes.TrimSpace(p.ID)
	}
	if len(raw) == 0 {
		return nil, protocol.ErrUserIDMissed
	}
	if raw[0] == '[' {
		var ids []protocol.FlexString
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, protocol.ErrUserIDMissed
		}
		out := make([]string, 0, len(ids))
		for _, id := range ids {
			out = append(out, string(id))
		}
		return out, nil
	}
	var id protocol.FlexString
	if err := json.Unmarshal(raw, &id); err != nil {
		return nil, protocol.ErrUserIDMissed
	}
	return []string{string(id)}, nil
}

// handleBlockUser: {ids:[..]} (or {id}) -> {"success":true}.
func (g *Gateway) handleBlockUser(ctx context.Context, s *Socket, c call) ([]byte, error) {
	return g.changeBlocks(ctx, s, c, g.chat.BlockUsers)
}

// handleUnblockUser: {ids:[..]} (or {id}) -> {"success":true}.
func (g *Gateway) handleUnblockUser(ctx context.Context, s *Socket, c call) ([]byte, error) {
	return g.changeBlocks(ctx, s, c, g.chat.UnblockUsers)
}

// changeBlocks decodes the ids of block_user or unblock_user and applies
// change to them.
func (g *Gateway) changeBlocks(ctx context.Context, s *Socket, c call,
	change func(context.Context, chat.Actor, []string) error) ([]byte, error) {
	var prm blockParams
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	ids, err := prm.list()
	if err != nil {
		return nil, err
	}
	if err := change(ctx, actor(s, c), ids); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleListBlockedUsers: {} -> {"users":["<uid>",..]}.
func (g *Gateway) handleListBlockedUsers(ctx context.Context, s *Socket, c call) ([]byte, error) {
	ids, err := g.chat.BlockedUsers(ctx, actor(s, c))
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("users", nonNil(ids)))
}

// handleBlockListEnable: {enable:bool} -> {"success":true}.
func (g *Gateway) handleBlockListEnable(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		Enable *bool `json:"enable"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if prm.Enable == nil {
		return nil, protocol.FieldRequired("enable")
	}
	if err := g.chat.EnableBlockList(ctx, actor(s, c), *prm.Enable); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}
