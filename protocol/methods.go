// Package protocol is samagate's wire format: the SAMA JSON envelope, method
// names, the wire error type with SAMA's table of messages, and close codes.
// It does no I/O beyond []byte.
//
// Protocol flow:
//
//	client opens a websocket on / (no auth at upgrade)
//	  -> {"request":{"user_create":{...},"id":"1"}}      optional sign-up
//	  -> HTTP POST /login                                 issues an access token
//	  -> {"request":{"connect":{"token":"..","device_id":".."},"id":"2"}}
//	  <- {"response":{"id":"2","success":true}}          socket bound to (user, device)
//	  -> request-style methods, each answered by exactly one
//	     {"response":{"id":..,...}} in request order
//	  -> top-level {"message":{...}}                      answered by {"ask":{...}}
//	  <- events pushed at any time: {"message":{...}}, {"last_activity":{...}}, ...
//	  <- close frame with a code from closecode.go when the server ends the socket
//
// The deprecated flow replaces POST /login + connect with
// {"request":{"user_login":{"login":..,"password":..,"device_id":..},"id":..}}.
package protocol

// Method names, each with its payload (sama-reference.md §2 and §6).
const (
	// MethodPing {} -> {"pong":{}}. No auth needed.
	MethodPing = "ping"
	// MethodConnect {token, device_id} -> {"success":true}; binds the socket.
	MethodConnect = "connect"
	// MethodUserLogin {organization_id?, login|userId, password, device_id} or
	// {token, device_id} -> {"user":{..},"token":".."}; deprecated, binds the socket.
	// Additive: code (TOTP), selection_token (after select_account),
	// expiresIn (token lifetime, as on POST /login).
	MethodUserLogin = "user_login"
	// MethodUserLogout {scope?: "device"|"all"|"others"} -> {"success":true};
	// ends the device session (default), every session of the user, or every
	// one but this socket's, on every node. scope is additive to SAMA.
	MethodUserLogout = "user_logout"
	// MethodSessionList {} -> {"sessions":[{id, device_id, platform, ..., current}]}
	// (samagate): the user's live device sessions.
	MethodSessionList = "session_list"
	// MethodSessionRevoke {id} -> {"success":true} (samagate): ends one of the
	// user's sessions; its sockets close with 4102 on every node.
	MethodSessionRevoke = "session_revoke"
	// MethodUserCreate {organization_id?, login, password, email?, phone?, ...} -> {"user":{..}}.
	MethodUserCreate = "user_create"
	// MethodUserEdit {current_password?, new_password?, email?, phone?, login?, first_name?, last_name?, avatar_object?} -> {"user":{..}}.
	MethodUserEdit = "user_edit"
	// MethodUserDelete {} -> {"success":true}; ends every session of the user.
	MethodUserDelete = "user_delete"
	// MethodUserSearch {keyword, limit?, updated_at?{gt}, ignore_ids?} -> {"users":[..]}.
	MethodUserSearch = "user_search"
	// MethodGetUsersByIDs {ids:[1..100]} -> {"users":[..]}.
	MethodGetUsersByIDs = "get_users_by_ids"

	// MethodActivitySubscribe {id} -> {"last_activity":{"<id>":0|<unix s>}}; the
	// socket then gets {"last_activity":{..}} events when that user goes online
	// (0) or offline (last-activity unix seconds). One target per socket.
	MethodActivitySubscribe = "user_last_activity_subscribe"
	// MethodActivityUnsubscribe {} -> {"success":true}.
	MethodActivityUnsubscribe = "user_last_activity_unsubscribe"
	// MethodLastActivity {ids} -> {"last_activity":{"<id>":0|<unix s>,...}}.
	MethodLastActivity = "user_last_activity"
	// MethodOnlineList {count?, idsOnly?, limit?, offset?} -> {"count":n} or {"users":[..]}.
	MethodOnlineList = "online_list"
	// MethodActivityStatus {isInactive} -> {"success":true}.
	MethodActivityStatus = "activity_status"

	// MethodConversationCreate {type:"u"|"g", name?, description?, participants} -> {"conversation":{..}};
	// the members get {"system_message":{..,"x":{"conversation_created":{..}}}}.
	MethodConversationCreate = "conversation_create"
	// MethodConversationList {limit?, updated_at?{gt|lt}, ids?} -> {"conversations":[..]}.
	MethodConversationList = "conversation_list"
	// MethodParticipantsByCIDs {cids} -> {"users":[..],"conversations":{"<cid>":["<uid>",..]}}.
	MethodParticipantsByCIDs = "get_participants_by_cids"
	// MethodMessage (top-level) {id, cid, body|attachments, x?, ...} -> {"ask":{mid,server_mid,t}};
	// members get {"message":{..}}.
	MethodMessage = "message"
	// MethodMessageList {cid, limit?, ids?, updated_at?} -> {"messages":[..]} newest first.
	MethodMessageList = "message_list"
	// MethodMessageRead {cid} -> {"success":true}; authors get {"message_read":{ids,cid,from}}.
	MethodMessageRead = "message_read"
	// MethodTyping (top-level) {cid, status?} -> no reply; members get {"typing":{..}}.
	MethodTyping = "typing"
	// MethodSystemMessage {id, cid|uids(<=20), x} -> {"ask":{mid,t}}; recipients
	// get {"system_message":{_id,from,t,x,cid?}}.
	MethodSystemMessage = "system_message"
	// MethodOpLogList {created_at:{gt|lt}} -> {"logs":[{_id,user_id,packet:{..},created_at,updated_at}]}:
	// the caller's stored events (packet as an object, not SAMA's string).
	MethodOpLogList = "op_log_list"
	// MethodMessageEdit {id, body} -> {"success":true}; members get
	// {"message_edit":{id,cid,c_type,from,body}}. Author only.
	MethodMessageEdit = "message_edit"
	// MethodMessageDelete {cid, ids, type:"all"|"myself"} -> {"success":true};
	// for "all" members get {"message_delete":{ids,cid,c_type,from,type}}.
	MethodMessageDelete = "message_delete"
	// MethodConversationDelete {id} -> {"success":true}: the caller leaves;
	// the last one out deletes the conversation.
	MethodConversationDelete = "conversation_delete"
	// MethodConversationSearch {name, limit?, updated_at?{gt}} -> {"conversations":["<cid>",..]}:
	// ids of the caller's conversations whose name starts with name.
	MethodConversationSearch = "conversation_search"
	// MethodConversationUpdate {id, name?, description?, participants?{add,remove}, admins?{add,remove}}
	// -> {"conversation":{..}} or {"deleted":true}; members get system_message
	// x.conversation_updated, removed users x.conversation_kicked.
	MethodConversationUpdate = "conversation_update"

	// MethodConversationSubscribe {cid} -> {"success":true}: the caller
	// subscribes to a channel (type "c"; anything else is 400 Bad Request.).
	MethodConversationSubscribe = "conversation_subscribe"
	// MethodConversationUnsubscribe {cid} -> {"success":true}: the caller
	// leaves a channel.
	MethodConversationUnsubscribe = "conversation_unsubscribe"
	// MethodAdminsByCIDs {cids} -> {"users":[..],"conversations":{"<cid>":["<uid>",..]}}:
	// the owner and admins of the conversations the caller administers.
	MethodAdminsByCIDs = "get_admins_by_cids"
)

// Contacts (issue 13): a user's private address book. A contact is
// {_id, user_id, organization_id, first_name?, last_name?, company?,
// email?:[{type?, value, matched_user_id?}], phone?:[..], created_at, updated_at};
// matched_user_id names the user of the caller's organization whose e-mail
// or phone the entry is, at the time of the reply.
const (
	// MethodContactAdd {first_name?, last_name?, company?, email?, phone?} -> {"contact":{..}}.
	MethodContactAdd = "contact_add"
	// MethodContactBatchAdd {contacts:[{..}]} -> {"contacts":[..]}, all or none.
	MethodContactBatchAdd = "contact_batch_add"
	// MethodContactUpdate {id, first_name?, last_name?, company?, email?, phone?} -> {"contact":{..}}.
	MethodContactUpdate = "contact_update"
	// MethodContactList {limit?, updated_at?: <date> | {gt?, lt?}} -> {"contacts":[..]} newest change first.
	MethodContactList = "contact_list"
	// MethodContactDelete {id} -> {"success":true}.
	MethodContactDelete = "contact_delete"
)

// Reactions and the block list (issue 13).
const (
	// MethodReactionsUpdate {mid, add?, remove?} -> {"success":true}; members
	// get {"message_reactions_update":{mid,cid,c_type,from,add?,remove?}}
	// when something changed. Members only.
	MethodReactionsUpdate = "message_reactions_update"
	// MethodReactionsList {mid} -> {"reactions":{"<reaction>":["<uid>",..]}}.
	MethodReactionsList = "message_reactions_list"
	// MethodBlockUser {ids:[..]} (or {id}) -> {"success":true}.
	MethodBlockUser = "block_user"
	// MethodUnblockUser {ids:[..]} (or {id}) -> {"success":true}.
	MethodUnblockUser = "unblock_user"
	// MethodListBlockedUsers {} -> {"users":["<uid>",..]}.
	MethodListBlockedUsers = "list_blocked_users"
	// MethodBlockListEnable {enable} -> {"success":true}.
	MethodBlockListEnable = "block_list_enable"
)

// Attachments (issue 13).
const (
	// MethodCreateFiles [{name, size, content_type}] (at most 10; a bare
	// array) -> {"files":[{_id, object_id, name, size, content_type,
	// upload_url, ..}]}: PUT each file's bytes, with its content type, to
	// its upload_url, then send a message whose attachments carry file_id.
	MethodCreateFiles = "create_files"
	// MethodGetFileURLs {file_ids:[1..10]} -> {"file_urls":{"<id>":"<url>"}}:
	// download URLs of the files the caller may read (others are left out).
	MethodGetFileURLs = "get_file_urls"
)

// arrayParams are the methods whose params are a JSON array rather than an
// object (SAMA's shape for them).
var arrayParams = map[string]bool{MethodCreateFiles: true}

// outOfScope lists SAMA methods samagate knows but does not serve yet; they get
// ErrNotSupported rather than ErrUnknownMethod (PROTOCOL.md "Methods in scope").
var outOfScope = map[string]bool{
	"user_send_otp": true, "user_reset_password": true,
	"contact_match":            true,
	"push_subscription_create": true, "push_subscription_list": true, "push_subscription_delete": true,
	"push_event_create": true,
	"device_register":   true, "device_list": true, "request_keys": true, "device_delete": true,
	"message_decryption_failed":   true,
	"conversation_handler_create": true, "get_conversation_handler": true, "conversation_handler_delete": true,
	"message_summary": true, "message_tone": true,
}

// UnknownMethodError is the error for a method the router has no handler for:
// ErrNotSupported for SAMA methods outside samagate's scope, ErrUnknownMethod otherwise.
func UnknownMethodError(method string) *Error {
	if outOfScope[method] {
		return ErrNotSupported
	}
	return ErrUnknownMethod
}
