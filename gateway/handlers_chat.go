package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/protocol"
)

// Chat is what the gateway needs from chat (implemented by *chat.Service).
// Logged events reach sockets through the sequencer (Gateway.Committed),
// not through the handlers' return values.
type Chat interface {
	Log
	CreateConversation(ctx context.Context, a chat.Actor, in chat.NewConversation) (*chat.Conversation, error)
	ListConversations(ctx context.Context, a chat.Actor, q chat.ConversationQuery) ([]chat.Conversation, error)
	ParticipantsOf(ctx context.Context, a chat.Actor, cids []string) (map[string][]string, error)
	// SubmitMessage validates a message and queues its commit; successive
	// calls commit in call order, and wait returns the ask once the
	// commit is durable and handed to the sink.
	SubmitMessage(ctx context.Context, a chat.Actor, in chat.NewMessage) (wait func(ctx context.Context) (*chat.Ask, error), err error)
	ListMessages(ctx context.Context, a chat.Actor, q chat.MessageQuery) ([]chat.Message, error)
	MarkRead(ctx context.Context, a chat.Actor, cid string) error
	Typing(ctx context.Context, a chat.Actor, cid string, status *string) (*chat.Delivery, error)
	OpLog(ctx context.Context, a chat.Actor, gt, lt *time.Time) ([]chat.LogEntry, error)
	SystemMessage(ctx context.Context, a chat.Actor, in chat.NewSystemMessage) (*chat.SystemAsk, error)
	Replay(ctx context.Context, a chat.Actor, after, until int64, limit int) ([]chat.ReplayEvent, error)
	EventPos(ctx context.Context, eid string) (pos int64, found bool, err error)
	EditMessage(ctx context.Context, a chat.Actor, id, body string) error
	DeleteMessages(ctx context.Context, a chat.Actor, cid string, ids []string, typ string) error
	LeaveConversation(ctx context.Context, a chat.Actor, cid string) error
	UpdateConversation(ctx context.Context, a chat.Actor, in chat.ConversationUpdate) (*chat.UpdateResult, error)
	SearchConversations(ctx context.Context, a chat.Actor, name string, updatedAfter time.Time, limit int) ([]string, error)
	Channels
	Reactions
	Blocks
}

// actor is who a request acts for, through the socket s.
func actor(s *Socket, c call) chat.Actor {
	return chat.Actor{UserID: c.p.UserID, OrgID: c.p.OrgID, Conn: s.id}
}

// timeRange is SAMA's {"gt":..} / {"lt":..} filter.
type timeRange struct {
	Gt *protocol.Time `json:"gt"`
	Lt *protocol.Time `json:"lt"`
}

func (r timeRange) bounds() (before, after time.Time) {
	if r.Lt != nil {
		before = r.Lt.Time
	}
	if r.Gt != nil {
		after = r.Gt.Time
	}
	return before, after
}

// handleConversationCreate: {type, name?, description?, participants} ->
// {"conversation":{..}}; the members get system_message x.conversation_created.
func (g *Gateway) handleConversationCreate(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		Type         string                `json:"type"`
		Name         string                `json:"name"`
		Description  string                `json:"description"`
		Participants []protocol.FlexString `json:"participants"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	conv, err := g.chat.CreateConversation(ctx, actor(s, c), chat.NewConversation{
		Type: prm.Type, Name: prm.Name, Description: prm.Description, Participants: flexStrings(prm.Participants)})
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("conversation", conv))
}

// handleConversationList: {limit?, updated_at?{gt|lt}, ids?} -> {"conversations":[..]}
func (g *Gateway) handleConversationList(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		Limit     int                   `json:"limit"`
		UpdatedAt timeRange             `json:"updated_at"`
		IDs       []protocol.FlexString `json:"ids"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	before, after := prm.UpdatedAt.bounds()
	cs, err := g.chat.ListConversations(ctx, actor(s, c), chat.ConversationQuery{
		Limit: prm.Limit, UpdatedBefore: before, UpdatedAfter: after, IDs: flexStrings(prm.IDs)})
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("conversations", nonNil(cs)))
}

// handleParticipantsByCIDs: {cids} -> {"users":[..],"conversations":{"<cid>":["<uid>",..]}};
// conversations the caller is not in are left out.
func (g *Gateway) handleParticipantsByCIDs(ctx context.Context, s *Socket, c call) ([]byte, error) {
	return g.usersByCIDs(ctx, s, c, g.chat.ParticipantsOf)
}

// usersByCIDs answers {cids} with the users lookup names for each
// conversation and their user objects: get_participants_by_cids and
// get_admins_by_cids.
func (g *Gateway) usersByCIDs(ctx context.Context, s *Socket, c call,
	lookup func(context.Context, chat.Actor, []string) (map[string][]string, error)) ([]byte, error) {
	var prm struct {
		CIDs *[]protocol.FlexString `json:"cids"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if prm.CIDs == nil {
		return nil, protocol.FieldRequired("cids")
	}
	byConv, err := lookup(ctx, actor(s, c), flexStrings(*prm.CIDs))
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var ids []string
	for _, uids := range byConv {
		for _, id := range uids {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	users, err := g.accounts.UsersByIDs(ctx, c.p.OrgID, ids)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("users", nonNil(users)), protocol.F("conversations", byConv))
}

// submitMessage is the top-level message, pipelined (pipeline.go): it
// queues the commit, and its wait answers {"ask":{mid, server_mid, t}}
// once the write is durable; the members' sockets except this one get the
// event through the sequencer.
func (g *Gateway) submitMessage(ctx context.Context, s *Socket, c call) (func(context.Context) ([]byte, error), error) {
	var prm struct {
		ID                 json.RawMessage     `json:"id"`
		CID                protocol.FlexString `json:"cid"`
		Body               *string             `json:"body"`
		Attachments        json.RawMessage     `json:"attachments"`
		X                  json.RawMessage     `json:"x"`
		RepliedMessageID   protocol.FlexString `json:"replied_message_id"`
		ForwardedMessageID protocol.FlexString `json:"forwarded_message_id"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	var clientID string
	if len(prm.ID) == 0 || prm.ID[0] != '"' || json.Unmarshal(prm.ID, &clientID) != nil {
		return nil, protocol.ErrIncorrectMessageID
	}
	if bytes.Equal(bytes.TrimSpace(prm.Attachments), []byte("null")) {
		prm.Attachments = nil
	}
	// The params are decoded into copies (strings, json.RawMessage), so
	// the commit keeps nothing of the frame's buffer.
	wait, err := g.chat.SubmitMessage(ctx, actor(s, c), chat.NewMessage{
		ClientID: clientID, CID: string(prm.CID), Body: prm.Body, Attachments: prm.Attachments, X: prm.X,
		RepliedMessageID: string(prm.RepliedMessageID), ForwardedMessageID: string(prm.ForwardedMessageID)})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]byte, error) {
		ask, err := wait(ctx)
		if err != nil {
			return nil, err
		}
		return protocol.Event("ask", ask)
	}, nil
}

// handleMessageList: {cid, limit?, ids?, updated_at?{gt|lt}} -> {"messages":[..]}
func (g *Gateway) handleMessageList(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		CID       protocol.FlexString   `json:"cid"`
		Limit     int                   `json:"limit"`
		IDs       []protocol.FlexString `json:"ids"`
		UpdatedAt timeRange             `json:"updated_at"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	before, after := prm.UpdatedAt.bounds()
	ms, err := g.chat.ListMessages(ctx, actor(s, c), chat.MessageQuery{CID: string(prm.CID), Limit: prm.Limit,
		IDs: flexStrings(prm.IDs), UpdatedBefore: before, UpdatedAfter: after})
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("messages", nonNil(ms)))
}

// handleMessageRead: {cid} -> {"success":true}; authors get message_read.
func (g *Gateway) handleMessageRead(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		CID protocol.FlexString `json:"cid"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := g.chat.MarkRead(ctx, actor(s, c), string(prm.CID)); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleTyping is live only and has no reply on success.
func (g *Gateway) handleTyping(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		CID    protocol.FlexString `json:"cid"`
		Status *string             `json:"status"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	d, err := g.chat.Typing(ctx, actor(s, c), string(prm.CID), prm.Status)
	if err != nil {
		return nil, err
	}
	g.sendLive(d)
	return nil, nil
}

// handleOpLogList: {created_at:{gt|lt}} -> {"logs":[{_id,user_id,packet:{..},created_at,updated_at}]}
func (g *Gateway) handleOpLogList(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		CreatedAt timeRange `json:"created_at"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	var gt, lt *time.Time
	if prm.CreatedAt.Gt != nil && !prm.CreatedAt.Gt.IsZero() {
		gt = &prm.CreatedAt.Gt.Time
	}
	if prm.CreatedAt.Lt != nil && !prm.CreatedAt.Lt.IsZero() {
		lt = &prm.CreatedAt.Lt.Time
	}
	logs, err := g.chat.OpLog(ctx, actor(s, c), gt, lt)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("logs", logs))
}

// handleSystemMessage: {id, cid|uids, x} -> {"ask":{mid,t}}; recipients get
// {"system_message":{_id,from,t,x,cid?}}.
func (g *Gateway) handleSystemMessage(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		ID   json.RawMessage       `json:"id"`
		CID  protocol.FlexString   `json:"cid"`
		UIDs []protocol.FlexString `json:"uids"`
		X    json.RawMessage       `json:"x"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	var clientID string
	if len(prm.ID) == 0 || prm.ID[0] != '"' || json.Unmarshal(prm.ID, &clientID) != nil {
		return nil, protocol.ErrIncorrectMessageID
	}
	ask, err := g.chat.SystemMessage(ctx, actor(s, c), chat.NewSystemMessage{ClientID: clientID,
		CID: string(prm.CID), UIDs: flexStrings(prm.UIDs), X: bytes.TrimSpace(prm.X)})
	if err != nil {
		return nil, err
	}
	return protocol.Event("ask", ask)
}

// handleMessageEdit: {id, body} -> {"success":true}; members get message_edit.
func (g *Gateway) handleMessageEdit(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		ID   protocol.FlexString `json:"id"`
		Body string              `json:"body"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := g.chat.EditMessage(ctx, actor(s, c), string(prm.ID), prm.Body); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleMessageDelete: {cid, ids, type:"all"|"myself"} -> {"success":true};
// for "all" the members get message_delete.
func (g *Gateway) handleMessageDelete(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		CID  protocol.FlexString   `json:"cid"`
		IDs  []protocol.FlexString `json:"ids"`
		Type string                `json:"type"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := g.chat.DeleteMessages(ctx, actor(s, c), string(prm.CID), flexStrings(prm.IDs), prm.Type); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleConversationDelete: {id} -> {"success":true} (the caller leaves).
func (g *Gateway) handleConversationDelete(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		ID protocol.FlexString `json:"id"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	if err := g.chat.LeaveConversation(ctx, actor(s, c), string(prm.ID)); err != nil {
		return nil, err
	}
	return c.respond(protocol.F("success", true))
}

// handleConversationSearch: {name, limit?, updated_at?{gt}} -> {"conversations":["<cid>",..]}
func (g *Gateway) handleConversationSearch(ctx context.Context, s *Socket, c call) ([]byte, error) {
	var prm struct {
		Name      string    `json:"name"`
		Limit     int       `json:"limit"`
		UpdatedAt timeRange `json:"updated_at"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	_, after := prm.UpdatedAt.bounds()
	ids, err := g.chat.SearchConversations(ctx, actor(s, c), prm.Name, after, prm.Limit)
	if err != nil {
		return nil, err
	}
	return c.respond(protocol.F("conversations", ids))
}

// handleConversationUpdate: {id, name?, description?, participants?{add,remove},
// admins?{add,remove}} -> {"conversation":{..}} or {"deleted":true}.
func (g *Gateway) handleConversationUpdate(ctx context.Context, s *Socket, c call) ([]byte, error) {
	type change struct {
		Add    []protocol.FlexString `json:"add"`
		Remove []protocol.FlexString `json:"remove"`
	}
	var prm struct {
		ID           protocol.FlexString `json:"id"`
		Name         *string             `json:"name"`
		Description  *string             `json:"description"`
		Participants change              `json:"participants"`
		Admins       change              `json:"admins"`
	}
	if err := protocol.DecodeParams(c.req.Params, &prm); err != nil {
		return nil, err
	}
	res, err := g.chat.UpdateConversation(ctx, actor(s, c), chat.ConversationUpdate{ID: string(prm.ID),
		Name: prm.Name, Description: prm.Description,
		AddParticipants: flexStrings(prm.Participants.Add), RemoveParticipants: flexStrings(prm.Participants.Remove),
		AddAdmins: flexStrings(prm.Admins.Add), RemoveAdmins: flexStrings(prm.Admins.Remove)})
	if err != nil {
		return nil, err
	}
	if res.Deleted {
		return c.respond(protocol.F("deleted", true))
	}
	return c.respond(protocol.F("conversation", res.Conversation))
}
