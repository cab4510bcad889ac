package gateway

import (
	"context"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// Channels is what the gateway needs from chat for channels (type "c")
// besides conversations (implemented by *chat.Service).
type Channels interface {
	Subscribe(ctx context.Context, a chat.Actor, cid string) error
	Unsubscribe(ctx context.Context, a chat.Actor, cid string) error
	AdminsOf(ctx context.Context, a chat.Actor, cids []string) (map[string][]string, error)
}

// channelParams is {cid} of conversation_subscribe / _unsubscribe.
type channelParams struct {
	CID protocol.FlexString `json:"cid"`
}

// handleConversationSubscribe: {cid} -> {"success":true}.
func (g *Gateway) handleConversationSubscribe(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm channelParams
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := g.chat.Subscribe(ctx, actor(s, c), string(prm.CID)); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleConversationUnsubscribe: {cid} -> {"success":true}.
func (g *Gateway) handleConversationUnsubscribe(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm channelParams
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := g.chat.Unsubscribe(ctx, actor(s, c), string(prm.CID)); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleAdminsByCIDs: {cids} -> {"users":[..],"conversations":{"<cid>":["<uid>",..]}};
// conversations the caller does not administer are left out (SAMA).
func (g *Gateway) handleAdminsByCIDs(ctx context.Context, s *Socket, c call) ([]byte, error) {
	return g.usersByCIDs(ctx, s, c, g.chat.AdminsOf)
}
