package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/httpauth"
	"github.com/samagate/samagate/protocol"
)

// successReply is the reply {"success":true}.
type successReply struct {
	Success bool `json:"success"`
}

// success is the reply of the routes that answer {"success":true}.
var success = successReply{Success: true}

// clientID is a message's id as the client chose it, which must be a JSON
// string (as on the websocket).
func clientID(raw json.RawMessage) (string, error) {
	var id string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &id) != nil {
		return "", protocol.ErrIncorrectMessageID
	}
	return id, nil
}

// flexStrings turns decoded ids into strings.
func flexStrings(in []protocol.FlexString) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// sendMessage is POST /admin/message: the websocket's top-level message,
// sent as senderId. -> 201 {"ask":{mid, server_mid, t, modified, bot_message}}
// once it is durable; the members' sockets get it as any message.
func (a *API) sendMessage(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	var prm struct {
		Message *struct {
			ID                 json.RawMessage     `json:"id"`
			CID                protocol.FlexString `json:"cid"`
			Body               *string             `json:"body"`
			Attachments        json.RawMessage     `json:"attachments"`
			X                  json.RawMessage     `json:"x"`
			RepliedMessageID   protocol.FlexString `json:"replied_message_id"`
			ForwardedMessageID protocol.FlexString `json:"forwarded_message_id"`
		} `json:"message"`
	}
	from, err := decodeSent(req.Body, &prm)
	if err != nil {
		return 0, nil, err
	}
	m := prm.Message
	if m == nil {
		return 0, nil, protocol.FieldRequired("message")
	}
	id, err := clientID(m.ID)
	if err != nil {
		return 0, nil, err
	}
	act, err := a.actor(ctx, from)
	if err != nil {
		return 0, nil, err
	}
	if bytes.Equal(bytes.TrimSpace(m.Attachments), []byte("null")) {
		m.Attachments = nil
	}
	ask, err := a.cfg.Chat.SendMessage(ctx, act, chat.NewMessage{ClientID: id, CID: string(m.CID), Body: m.Body,
		Attachments: m.Attachments, X: m.X, RepliedMessageID: string(m.RepliedMessageID),
		ForwardedMessageID: string(m.ForwardedMessageID)})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"ask": ask}, nil
}

// systemMessage is POST /admin/message/system: system_message from
// senderId to a conversation it belongs to or to up to 20 users of the
// organization. -> 201 {"ask":{mid, t}}
func (a *API) systemMessage(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	var prm struct {
		System *struct {
			ID   json.RawMessage       `json:"id"`
			CID  protocol.FlexString   `json:"cid"`
			UIDs []protocol.FlexString `json:"uids"`
			X    json.RawMessage       `json:"x"`
		} `json:"messageSystem"`
	}
	from, err := decodeSent(req.Body, &prm)
	if err != nil {
		return 0, nil, err
	}
	m := prm.System
	if m == nil {
		return 0, nil, protocol.FieldRequired("messageSystem")
	}
	id, err := clientID(m.ID)
	if err != nil {
		return 0, nil, err
	}
	act, err := a.actor(ctx, from)
	if err != nil {
		return 0, nil, err
	}
	ask, err := a.cfg.Chat.SystemMessage(ctx, act, chat.NewSystemMessage{ClientID: id, CID: string(m.CID),
		UIDs: flexStrings(m.UIDs), X: bytes.TrimSpace(m.X)})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, map[string]any{"ask": ask}, nil
}

// editMessage is PUT /admin/message: message_edit of senderId's own
// message. -> {"success":true}
func (a *API) editMessage(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	var prm struct {
		Edit *struct {
			ID   protocol.FlexString `json:"id"`
			Body string              `json:"body"`
		} `json:"messageEdit"`
	}
	from, err := decodeSent(req.Body, &prm)
	if err != nil {
		return 0, nil, err
	}
	if prm.Edit == nil {
		return 0, nil, protocol.FieldRequired("messageEdit")
	}
	act, err := a.actor(ctx, from)
	if err != nil {
		return 0, nil, err
	}
	if err := a.cfg.Chat.EditMessage(ctx, act, string(prm.Edit.ID), prm.Edit.Body); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, success, nil
}

// deleteMessages is DELETE /admin/message: message_delete by senderId
// ("all": its own messages, or any as a group's owner or admin).
// -> {"success":true}
func (a *API) deleteMessages(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	var prm struct {
		Delete *struct {
			CID  protocol.FlexString   `json:"cid"`
			IDs  []protocol.FlexString `json:"ids"`
			Type string                `json:"type"`
		} `json:"messageDelete"`
	}
	from, err := decodeSent(req.Body, &prm)
	if err != nil {
		return 0, nil, err
	}
	d := prm.Delete
	if d == nil {
		return 0, nil, protocol.FieldRequired("messageDelete")
	}
	act, err := a.actor(ctx, from)
	if err != nil {
		return 0, nil, err
	}
	if err := a.cfg.Chat.DeleteMessages(ctx, act, string(d.CID), flexStrings(d.IDs), d.Type); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, success, nil
}

// readMessages is PUT /admin/message/read: message_read by senderId, which
// marks the conversation read up to its newest message (SAMA's optional ids
// are accepted and, as on the websocket, not needed). The authors get
// message_read. -> {"success":true}
func (a *API) readMessages(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	var prm struct {
		Read *struct {
			CID protocol.FlexString   `json:"cid"`
			IDs []protocol.FlexString `json:"ids"`
		} `json:"messageRead"`
	}
	from, err := decodeSent(req.Body, &prm)
	if err != nil {
		return 0, nil, err
	}
	if prm.Read == nil {
		return 0, nil, protocol.FieldRequired("messageRead")
	}
	act, err := a.actor(ctx, from)
	if err != nil {
		return 0, nil, err
	}
	if err := a.cfg.Chat.MarkRead(ctx, act, string(prm.Read.CID)); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, success, nil
}
