package httpauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// The 401 answers of the session routes tell the three cases apart, with
// the messages of the UProgress sessions API.
var (
	errTokenExpired = &protocol.Error{Status: 401, Message: "Authorization token expired"}
	errTokenInvalid = &protocol.Error{Status: 401, Message: "Authorization token invalid"}
	errUserNotFound = &protocol.Error{Status: 401, Message: "User not found"}
)

// principal authenticates the Bearer token of a session route, answering
// the 401 itself when it fails.
func (h *Handler) principal(w http.ResponseWriter, r *http.Request) (*auth.Principal, *auth.User, bool) {
	tok := bearerToken(r)
	if tok == "" {
		h.Error(w, r, protocol.ErrMissingCredentials)
		return nil, nil, false
	}
	p, u, err := h.auth.Bearer(r.Context(), tok)
	switch {
	case err == nil:
		return p, u, true
	case errors.Is(err, auth.ErrUserGone):
		err = errUserNotFound
	case errors.Is(err, protocol.ErrTokenExpired):
		err = errTokenExpired
	case errors.Is(err, protocol.ErrIncorrectToken):
		err = errTokenInvalid
	}
	h.Error(w, r, err)
	return nil, nil, false
}

// sessions serves the device-session routes:
//
//	GET    /sessions          -> {"sessions":[{id, device_id, platform, ..., current}]}
//	GET    /sessions/current  -> {"user":{...}, "session":{...}}   (also GET /me)
//	DELETE /sessions/{id}     -> {"success":true}; the session's sockets close with 4102
func (h *Handler) sessions(w http.ResponseWriter, r *http.Request) {
	p, u, ok := h.principal(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/sessions"), "/")
	switch {
	case r.Method == http.MethodGet && (id == "current" || r.URL.Path == "/me"):
		cur, err := h.auth.CurrentSession(ctx, *p)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, struct {
			User    *auth.User        `json:"user"`
			Session *auth.SessionInfo `json:"session"`
		}{u, cur})
	case r.Method == http.MethodGet && id == "":
		list, err := h.auth.Sessions(ctx, *p)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, struct {
			Sessions []auth.SessionInfo `json:"sessions"`
		}{list})
	case r.Method == http.MethodDelete && id != "" && !strings.Contains(id, "/"):
		if err := h.auth.RevokeSession(ctx, *p, id); err != nil {
			h.Error(w, r, err)
			return
		}
		h.writeJSON(w, r, http.StatusOK, struct {
			Success bool `json:"success"`
		}{true})
	default:
		h.Error(w, r, errRouteNotFound)
	}
}

// checkToken serves POST /check-token (and Kuzzle's /_checkToken): {token}
// -> {"valid":true,"expires_at":<ms>} or {"valid":false,"state":"Token
// expired"|"Invalid token"|"User not found"}. Always 200: the answer is
// about the token, not about the caller.
func (h *Handler) checkToken(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token string `json:"token"`
	}
	if err := h.decodeJSON(w, r, &body); err != nil {
		h.Error(w, r, err)
		return
	}
	if body.Token == "" {
		h.Error(w, r, protocol.Invalid("token", "'token' is required"))
		return
	}
	type reply struct {
		Valid     bool   `json:"valid"`
		State     string `json:"state,omitempty"`
		ExpiresAt int64  `json:"expires_at,omitempty"`
	}
	p, _, err := h.auth.Bearer(r.Context(), body.Token)
	switch {
	case err == nil:
		h.writeJSON(w, r, http.StatusOK, reply{Valid: true, ExpiresAt: p.ExpiresAt.UnixMilli()})
	case errors.Is(err, auth.ErrUserGone):
		h.writeJSON(w, r, http.StatusOK, reply{State: "User not found"})
	case errors.Is(err, protocol.ErrTokenExpired):
		h.writeJSON(w, r, http.StatusOK, reply{State: "Token expired"})
	case errors.Is(err, protocol.ErrIncorrectToken):
		h.writeJSON(w, r, http.StatusOK, reply{State: "Invalid token"})
	default:
		h.Error(w, r, err)
	}
}
