package protocol

import (
	"errors"
	"fmt"
)

// Error is the one wire error of samagate: {"status": <int>, "message": "<text>"}.
// It is always an object (SAMA sometimes sends a bare string; samagate never does).
// Handlers in every package return *Error values for failures a client caused;
// anything else becomes ErrInternal through ToWire, so internal text never
// reaches a client.
type Error struct {
	Status  int    `json:"status"`
	Message string `json:"message"`
	// Errors optionally names the offending fields, e.g. {"cid": ["is required"]}.
	Errors map[string][]string `json:"errors,omitempty"`
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Message) }

// Is makes errors.Is match two wire errors with the same status and message,
// so a sentinel still matches after WithField copies it.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && t.Message == e.Message
}

// WithField returns a copy of e that also names the offending field.
func (e *Error) WithField(field, problem string) *Error {
	c := *e
	c.Errors = map[string][]string{field: {problem}}
	return &c
}

// The SAMA error table (sama-reference.md §1.4): exact statuses and wording,
// because existing clients show error.message to their users.
var (
	ErrBadFormat      = &Error{Status: 400, Message: "Bad request - invalid data format"}
	ErrBadRequest     = &Error{Status: 400, Message: "Bad Request."}
	ErrNoMethod       = &Error{Status: 400, Message: "Bad request - missing method"}
	ErrManyMethods    = &Error{Status: 400, Message: "Bad request - more than one method"}
	ErrUnauthorized   = &Error{Status: 401, Message: "Unauthorized."}
	ErrForbidden      = &Error{Status: 403, Message: "Forbidden."}
	ErrUnknownMethod  = &Error{Status: 404, Message: "Method not found."}
	ErrNotSupported   = &Error{Status: 404, Message: "Method not supported."}
	ErrTooLarge       = &Error{Status: 413, Message: "Request too large."}
	ErrTooManyRequest = &Error{Status: 429, Message: "Too many attempts. Try again later."}
	ErrRateLimited    = &Error{Status: 429, Message: "Too many requests. Slow down."}
	ErrServerBusy     = &Error{Status: 503, Message: "Server busy. Try again later."}
	ErrInternal       = &Error{Status: 500, Message: "Internal server error."}

	ErrOrgNotFound          = &Error{Status: 404, Message: "Organization not found"}
	ErrIncorrectToken       = &Error{Status: 422, Message: "Incorrect token.", Errors: map[string][]string{"token": {"Incorrect token."}}}
	ErrTokenExpired         = &Error{Status: 422, Message: "The token has expired.", Errors: map[string][]string{"token": {"The token has expired."}}}
	ErrUserIDMissed         = &Error{Status: 422, Message: "User ID missed.", Errors: map[string][]string{"id": {"User ID missed."}}}
	ErrLoginOrPasswordMiss  = &Error{Status: 422, Message: "The 'login' or 'password' field is missing.", Errors: map[string][]string{"login": {"The 'login' or 'password' field is missing."}, "password": {"The 'login' or 'password' field is missing."}}}
	ErrSelectUsers          = &Error{Status: 422, Message: "Please select at least one user.", Errors: map[string][]string{"ids": {"Please select at least one user."}}}
	ErrUserExists           = &Error{Status: 422, Message: "The provided data is already associated with an existing user account.", Errors: map[string][]string{"login": {"The provided data is already associated with an existing user account."}}}
	ErrIncorrectUser        = &Error{Status: 422, Message: "The specified user is incorrect.", Errors: map[string][]string{"id": {"The specified user is incorrect."}}}
	ErrIncorrectPassword    = &Error{Status: 422, Message: "The password entered is incorrect.", Errors: map[string][]string{"password": {"The password entered is incorrect."}}}
	ErrIncorrectLogin       = &Error{Status: 422, Message: "The login provided is incorrect.", Errors: map[string][]string{"login": {"The login provided is incorrect."}}}
	ErrWrongCurrentPassword = &Error{Status: 401, Message: "The current password you entered is incorrect."}
	ErrBadCredentials       = &Error{Status: 401, Message: "Incorrect username or password."}
	ErrDeviceIDRequired     = &Error{Status: 422, Message: "'device_id' is required.", Errors: map[string][]string{"device_id": {"'device_id' is required."}}}
	ErrMissingCredentials   = &Error{Status: 401, Message: "Missing authentication credentials."}
	ErrRouteNotFound        = &Error{Status: 404, Message: "Route not found"}

	ErrConversationNotFound = &Error{Status: 404, Message: "Conversation not found."}
	ErrConvTypeMissed       = &Error{Status: 422, Message: "Conversation type missed.", Errors: map[string][]string{"type": {"Conversation type missed."}}}
	ErrConvTypeIncorrect    = &Error{Status: 422, Message: "The type you entered is incorrect.", Errors: map[string][]string{"type": {"The type you entered is incorrect."}}}
	ErrConvNameMissing      = &Error{Status: 422, Message: "You haven't specified a conversation name.", Errors: map[string][]string{"name": {"You haven't specified a conversation name."}}}
	ErrTooManyInGroup       = &Error{Status: 422, Message: "There are too many users in the group conversation.", Errors: map[string][]string{"participants": {"There are too many users in the group conversation."}}}
	ErrTooManyInPrivate     = &Error{Status: 422, Message: "There are too many users in the private conversation.", Errors: map[string][]string{"participants": {"There are too many users in the private conversation."}}}
	ErrParticipantsMissing  = &Error{Status: 422, Message: "Participants not provided.", Errors: map[string][]string{"participants": {"Participants not provided."}}}
	ErrIncorrectMessageID   = &Error{Status: 422, Message: "Incorrect message ID.", Errors: map[string][]string{"id": {"Incorrect message ID."}}}
	ErrIncorrectRepliedID   = &Error{Status: 422, Message: "Incorrect replied message ID.", Errors: map[string][]string{"replied_message_id": {"Incorrect replied message ID."}}}
	ErrBodyOrAttachments    = &Error{Status: 422, Message: "Either message body or attachments required.", Errors: map[string][]string{"body": {"Either message body or attachments required."}, "attachments": {"Either message body or attachments required."}}}
	ErrGtOrLtMissed         = &Error{Status: 422, Message: "Gt or lt query missed.", Errors: map[string][]string{"created_at": {"Gt or lt query missed."}}}
	ErrCidOrUidsRequired    = &Error{Status: 422, Message: "'cid' or 'uids' field is required.", Errors: map[string][]string{"cid": {"'cid' or 'uids' field is required."}, "uids": {"'cid' or 'uids' field is required."}}}
	ErrMessageIDNotFound    = &Error{Status: 422, Message: "Message ID not found.", Errors: map[string][]string{"id": {"Message ID not found."}}}
	ErrMessageIDMissed      = &Error{Status: 422, Message: "Message ID missed.", Errors: map[string][]string{"id": {"Message ID missed."}}}
	ErrMessageTypeMissed    = &Error{Status: 422, Message: "Message type missed.", Errors: map[string][]string{"type": {"Message type missed."}}}
	ErrParticipantNotFound  = &Error{Status: 404, Message: "ConversationParticipant not found."}
	ErrParticipantLimit     = &Error{Status: 422, Message: "You've reached the maximum participant limit.", Errors: map[string][]string{"participants": {"You've reached the maximum participant limit."}}}

	// issue 13: the block list
	ErrUserBlocked = &Error{Status: 422, Message: "Communication is not possible - you are in a block list of the recipient.", Errors: map[string][]string{"cid": {"Communication is not possible - you are in a block list of the recipient."}}}
)

// Contacts (issue 13): SAMA's wording; ErrContactLimit is samagate's cap on
// one user's address book.
var (
	ErrContactNotFound     = &Error{Status: 422, Message: "Contact not found.", Errors: map[string][]string{"id": {"Contact not found."}}}
	ErrContactIDMissed     = &Error{Status: 422, Message: "Contact id is missed.", Errors: map[string][]string{"id": {"Contact id is missed."}}}
	ErrContactNameMissed   = &Error{Status: 422, Message: "'first_name' or 'last_name' is missed.", Errors: map[string][]string{"first_name": {"'first_name' or 'last_name' is missed."}, "last_name": {"'first_name' or 'last_name' is missed."}}}
	ErrContactEmailOrPhone = &Error{Status: 422, Message: "Email or phone is missed.", Errors: map[string][]string{"email": {"Email or phone is missed."}, "phone": {"Email or phone is missed."}}}
	ErrContactLimit        = &Error{Status: 422, Message: "You've reached the maximum contact limit.", Errors: map[string][]string{"contacts": {"You've reached the maximum contact limit."}}}
)

// FieldRequired is SAMA's generic "'<x>' field is required." (422).
func FieldRequired(field string) *Error {
	return &Error{Status: 422, Message: fmt.Sprintf("'%s' field is required.", field),
		Errors: map[string][]string{field: {"is required"}}}
}

// Invalid is a 422 whose message is SAMA-style text and which names the field.
func Invalid(field, message string) *Error {
	return &Error{Status: 422, Message: message, Errors: map[string][]string{field: {message}}}
}

// ToWire turns any error into the wire error a client may see: a *Error found
// with errors.As is passed through; anything else becomes ErrInternal.
func ToWire(err error) *Error {
	var we *Error
	if errors.As(err, &we) {
		return we
	}
	return ErrInternal
}
