package gateway

import (
	"context"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// call is one request as a handler sees it.
type call struct {
	req  protocol.Request
	p    *auth.Principal // nil unless the route needs auth
	post *[]func()       // run after the reply is queued (event fan-out)
}

// after schedules f to run once the reply has been queued, so the sender
// sees its reply before any event the request caused (SAMA's order).
func (c call) after(f func()) { *c.post = append(*c.post, f) }

// respond encodes the success reply {"response":{"id":..,fields...}}.
func (c call) respond(fields ...protocol.Field) ([]byte, error) {
	return protocol.Response(c.req.ID, fields...)
}

// route is one entry of the method table.
type route struct {
	// name is the method, the label of its metrics (set by routeTable).
	name string
	// auth: the socket must be bound (else 401 Unauthorized., checked before
	// the params, as SAMA does).
	auth bool
	// class is the per-user rate bucket the method is charged to besides
	// the bucket of every request (ratelimit.go).
	class limitClass
	// handle returns the encoded reply, or nil for none (typing).
	handle func(ctx context.Context, s *Socket, c call) ([]byte, error)
	// submit, instead of handle, makes the method pipelined
	// (pipeline.go): it starts the request, in request order, and returns
	// the wait that produces its reply. It must not keep c.req's bytes
	// (the transport reuses them) nor use c.after.
	submit func(ctx context.Context, s *Socket, c call) (wait func(ctx context.Context) ([]byte, error), err error)
}

// routeTable is the explicit method table: names never reach a lookup on
// anything but this map (SAMA's object router crashed on "constructor").
func (g *Gateway) routeTable() map[string]route {
	t := map[string]route{
		protocol.MethodPing:          {handle: g.handlePing},
		protocol.MethodConnect:       {handle: g.handleConnect},
		protocol.MethodUserLogin:     {handle: g.handleUserLogin},
		protocol.MethodUserCreate:    {handle: g.handleUserCreate},
		protocol.MethodUserLogout:    {auth: true, handle: g.handleUserLogout},
		protocol.MethodSessionList:   {auth: true, handle: g.handleSessionList},
		protocol.MethodSessionRevoke: {auth: true, handle: g.handleSessionRevoke},
		protocol.MethodUserEdit:      {auth: true, handle: g.handleUserEdit},
		protocol.MethodUserDelete:    {auth: true, handle: g.handleUserDelete},
		protocol.MethodUserSearch:    {auth: true, handle: g.handleUserSearch},
		protocol.MethodGetUsersByIDs: {auth: true, handle: g.handleGetUsersByIDs},

		protocol.MethodActivitySubscribe:   {auth: true, handle: g.handleActivitySubscribe},
		protocol.MethodActivityUnsubscribe: {auth: true, handle: g.handleActivityUnsubscribe},
		protocol.MethodLastActivity:        {auth: true, handle: g.handleLastActivity},
		protocol.MethodOnlineList:          {auth: true, handle: g.handleOnlineList},
		protocol.MethodActivityStatus:      {auth: true, handle: g.handleActivityStatus},

		protocol.MethodConversationCreate: {auth: true, handle: g.handleConversationCreate},
		protocol.MethodConversationList:   {auth: true, handle: g.handleConversationList},
		protocol.MethodParticipantsByCIDs: {auth: true, handle: g.handleParticipantsByCIDs},
		protocol.MethodMessage:            {auth: true, class: classMessage, submit: g.submitMessage},
		protocol.MethodMessageList:        {auth: true, handle: g.handleMessageList},
		protocol.MethodMessageRead:        {auth: true, handle: g.handleMessageRead},
		protocol.MethodTyping:             {auth: true, class: classTyping, handle: g.handleTyping},
		protocol.MethodSystemMessage:      {auth: true, class: classSystemMessage, handle: g.handleSystemMessage},
		protocol.MethodOpLogList:          {auth: true, handle: g.handleOpLogList},
		protocol.MethodMessageEdit:        {auth: true, handle: g.handleMessageEdit},
		protocol.MethodMessageDelete:      {auth: true, handle: g.handleMessageDelete},
		protocol.MethodConversationDelete: {auth: true, handle: g.handleConversationDelete},
		protocol.MethodConversationSearch: {auth: true, handle: g.handleConversationSearch},
		protocol.MethodConversationUpdate: {auth: true, handle: g.handleConversationUpdate},

		// contacts (issue 13)
		protocol.MethodContactAdd:              {auth: true, handle: g.handleContactAdd},
		protocol.MethodContactBatchAdd:         {auth: true, handle: g.handleContactBatchAdd},
		protocol.MethodContactUpdate:           {auth: true, handle: g.handleContactUpdate},
		protocol.MethodContactList:             {auth: true, handle: g.handleContactList},
		protocol.MethodContactDelete:           {auth: true, handle: g.handleContactDelete},
		protocol.MethodConversationSubscribe:   {auth: true, handle: g.handleConversationSubscribe},
		protocol.MethodConversationUnsubscribe: {auth: true, handle: g.handleConversationUnsubscribe},
		protocol.MethodAdminsByCIDs:            {auth: true, handle: g.handleAdminsByCIDs},
		// issue 13: reactions and the block list
		protocol.MethodReactionsUpdate:  {auth: true, handle: g.handleReactionsUpdate},
		protocol.MethodReactionsList:    {auth: true, handle: g.handleReactionsList},
		protocol.MethodBlockUser:        {auth: true, handle: g.handleBlockUser},
		protocol.MethodUnblockUser:      {auth: true, handle: g.handleUnblockUser},
		protocol.MethodListBlockedUsers: {auth: true, handle: g.handleListBlockedUsers},
		protocol.MethodBlockListEnable:  {auth: true, handle: g.handleBlockListEnable},
	}
	if g.cfg.Files != nil { // attachments (handlers_files.go)
		t[protocol.MethodCreateFiles] = route{auth: true, handle: g.handleCreateFiles}
		t[protocol.MethodGetFileURLs] = route{auth: true, handle: g.handleGetFileURLs}
	}
	for name, r := range t {
		r.name = name
		t[name] = r
	}
	return t
}

func (g *Gateway) handlePing(_ context.Context, _ *Socket, c call) ([]byte, error) {
	return c.respond(protocol.F("pong", struct{}{}))
}
