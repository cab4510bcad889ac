// Package adminapi is SAMA's admin HTTP API: how an application backend
// talks to samagate. It acts for a user of an organization (senderId) with
// the same chat calls the websocket handlers make, so what it sends is
// stored, logged and delivered exactly like a socket's messages: to every
// device of every member, on every node, and to devices that catch up
// later. Routes (body JSON, header admin-api-key checked by httpauth):
//
//	GET    /admin/server-stats[?format=1] -> this node's uptime, dependencies, users and message rates
//	POST   /admin/message        {organizationId?, senderId, message:{id, cid, body?, attachments?, x?, replied_message_id?, forwarded_message_id?}}
//	                             -> 201 {"ask":{mid, server_mid, t, modified, bot_message}}
//	POST   /admin/message/system {organizationId?, senderId, messageSystem:{id, cid | uids, x}} -> 201 {"ask":{mid, t}}
//	PUT    /admin/message        {organizationId?, senderId, messageEdit:{id, body}} -> {"success":true}
//	DELETE /admin/message        {organizationId?, senderId, messageDelete:{cid, ids, type:"all"|"myself"}} -> {"success":true}
//	PUT    /admin/message/read   {organizationId?, senderId, messageRead:{cid}} -> {"success":true}
//	POST   /admin/activity/online {organizationId?, count?, idsOnly?, limit? 1..100 (10), offset?}
//	                             -> {"count":n} | {"users":["<id>",..]} | {"users":[<public user>,..]}
//	<other> /admin/*             -> 404 Route not found
//
// The request and reply shapes are SAMA's. Where samagate differs:
//   - SAMA bound a fake socket session of the sender to the request (device
//     "SAMA_HTTP_CLIENT_DEVICE_ID") and had it excluded from delivery and
//     online lists. samagate binds nothing: the calls carry an actor with no
//     socket, so the admin never appears online, every socket of the sender
//     gets the event too (as the sender's other devices do for a socket's
//     message), and nothing is left behind if a request fails midway.
//   - senderId must be a user of the organization (422 naming senderId);
//     SAMA did not check it for system messages to uids. The usual chat
//     rules apply to that user: membership, authorship of edits and
//     deletes (SAMA let an admin call delete anyone's message as anyone).
//   - organizationId may be left out: the default organization, as with
//     /login.
//   - Bad input is 400 (not JSON, or not an object) or 422 naming the
//     field; SAMA silently read a broken body as {}.
//   - A message with the same message.id from the same sender to the same
//     conversation is stored once, so a backend may retry a request that
//     timed out.
package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/chat"
	"github.com/samagate/samagate/httpauth"
	"github.com/samagate/samagate/protocol"
	"github.com/samagate/samagate/store"
)

// Chat is what the admin API needs from chat (*chat.Service): the calls the
// websocket handlers make for the same requests.
type Chat interface {
	SendMessage(ctx context.Context, a chat.Actor, in chat.NewMessage) (*chat.Ask, error)
	SystemMessage(ctx context.Context, a chat.Actor, in chat.NewSystemMessage) (*chat.SystemAsk, error)
	EditMessage(ctx context.Context, a chat.Actor, id, body string) error
	DeleteMessages(ctx context.Context, a chat.Actor, cid string, ids []string, typ string) error
	MarkRead(ctx context.Context, a chat.Actor, cid string) error
}

// Users is what the admin API needs from auth (*auth.Service).
type Users interface {
	GetUser(ctx context.Context, orgID, userID string) (*auth.User, error)
	UsersByIDs(ctx context.Context, orgID string, ids []string) ([]auth.User, error)
}

// Presence names an organization's online users on every node
// (presence.Memory, presence.Redis).
type Presence interface {
	OnlineUsers(ctx context.Context, orgID string) ([]string, error)
}

// Node is this node's sockets (*gateway.Gateway).
type Node interface {
	// Online is the number of open sockets.
	Online() int
	// LocalUsers is the number of users with an authenticated socket here.
	LocalUsers() int
}

// Check is one dependency server-stats pings: its name ("postgres",
// "sqlite", "redis") and a call that fails when it is unreachable.
type Check struct {
	Name string
	Ping func(ctx context.Context) error
}

// Config is what the API serves from. Chat, Users, Presence and Node are
// required.
type Config struct {
	Chat     Chat
	Users    Users
	Presence Presence
	Node     Node
	// Checks are the dependencies server-stats reports.
	Checks []Check
	// Rates counts this node's messages. Nil: the rates are reported as 0.
	Rates *Rates
	// Hostname is reported by server-stats.
	Hostname string
	// Started is when the node started (uptime). Default: when New ran.
	Started time.Time
	// PingTimeout bounds each dependency check. Default 2s.
	PingTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// API serves the admin routes; it implements httpauth.AdminRoutes and holds
// no per-request state.
type API struct {
	cfg Config
	log zerolog.Logger
}

var _ httpauth.AdminRoutes = (*API)(nil)

// New returns the API.
func New(cfg Config, log zerolog.Logger) *API {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Started.IsZero() {
		cfg.Started = cfg.Now()
	}
	if cfg.PingTimeout <= 0 {
		cfg.PingTimeout = 2 * time.Second
	}
	return &API{cfg: cfg, log: log}
}

// route is one admin route's handler: the reply's status and body.
type route func(a *API, ctx context.Context, req httpauth.AdminRequest) (int, any, error)

// routes maps "METHOD path" onto its handler.
var routes = map[string]route{
	"GET /admin/server-stats":     (*API).serverStats,
	"POST /admin/message":         (*API).sendMessage,
	"PUT /admin/message":          (*API).editMessage,
	"DELETE /admin/message":       (*API).deleteMessages,
	"POST /admin/message/system":  (*API).systemMessage,
	"PUT /admin/message/read":     (*API).readMessages,
	"POST /admin/activity/online": (*API).onlineList,
}

// ServeAdmin serves one admin call whose key httpauth has checked.
func (a *API) ServeAdmin(ctx context.Context, req httpauth.AdminRequest) (int, any, error) {
	method := req.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	h, ok := routes[method+" "+req.Path]
	if !ok {
		return 0, nil, protocol.ErrRouteNotFound
	}
	return h(a, ctx, req)
}

// decode reads a request body into v: none is {}; anything but a JSON
// object is 400; a field of the wrong type is 422 naming it (nested fields
// by their path, "message.cid").
func decode(body []byte, v any) error {
	switch {
	case len(body) == 0 || bytes.Equal(body, []byte("null")):
		return nil
	case body[0] != '{' || !json.Valid(body):
		return protocol.ErrBadFormat
	}
	return protocol.DecodeParams(body, v)
}

// errUnknownSender answers a senderId that is no user of the organization.
var errUnknownSender = protocol.Invalid("senderId", "'senderId' is not a user of the organization.")

// sender is the organizationId and senderId every message route carries.
type sender struct {
	OrgID    protocol.FlexString `json:"organizationId"`
	SenderID protocol.FlexString `json:"senderId"`
}

// decodeSent decodes a message route's body: its sender, then the rest
// into v. The sender is a field of each request, not embedded in v, so a
// mistyped one is named by its own name ("organizationId").
func decodeSent(body []byte, v any) (sender, error) {
	var s sender
	if err := decode(body, &s); err != nil {
		return s, err
	}
	return s, decode(body, v)
}

// actor checks that the sender is a user of the organization and returns
// who the chat calls act for: that user, through no socket (Conn ""), so
// every socket of every member, the sender's included, gets the event.
func (a *API) actor(ctx context.Context, s sender) (chat.Actor, error) {
	org := string(s.OrgID)
	if org == "" {
		org = store.DefaultOrg
	}
	if s.SenderID == "" {
		return chat.Actor{}, protocol.FieldRequired("senderId")
	}
	u, err := a.cfg.Users.GetUser(ctx, org, string(s.SenderID))
	if errors.Is(err, protocol.ErrIncorrectUser) {
		return chat.Actor{}, errUnknownSender
	}
	if err != nil {
		return chat.Actor{}, fmt.Errorf("load sender: %w", err)
	}
	return chat.Actor{UserID: u.ID, OrgID: org}, nil
}
