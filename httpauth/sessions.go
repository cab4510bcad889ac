package httpauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// tokenProblems tells apart why a token was refused: the 401 of the
// session routes (UProgress's messages) and the state of check-token
// (Kuzzle's).
var tokenProblems = []struct {
	cause  error
	answer *protocol.Error
	state  string
}{
	{auth.ErrUserGone, &protocol.Error{Status: 401, Message: "User not found"}, "User not found"},
	{protocol.ErrTokenExpired, &protocol.Error{Status: 401, Message: "Authorization token expired"}, "Token expired"},
	{protocol.ErrIncorrectToken, &protocol.Error{Status: 401, Message: "Authorization token invalid"}, "Invalid token"},
}

// tokenProblem returns the row of tokenProblems err is, if any.
func tokenProblem(err error) (answer *protocol.Error, state string, ok bool) {
	for _, p := range tokenProblems {
		if errors.Is(err, p.cause) {
			return p.answer, p.state, true
		}
	}
	return nil, "", false
}

// principal authenticates the Bearer token of a session route, answering
// the 401 itself when it fails.
func (h *Handler) principal(w http.ResponseWriter, r *http.Request) (*auth.Principal, *auth.User, bool) {
	tok := bearerToken(r)
	if tok == "" {
		h.Error(w, r, protocol.ErrMissingCredentials)
		return nil, nil, false
	}
	p, u, err := h.auth.Bearer(r.Context(), tok)
	if err == nil {
		return p, u, true
	}
	if answer, _, ok := tokenProblem(err); ok {
		err = answer
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
	if err == nil {
		h.writeJSON(w, r, http.StatusOK, reply{Valid: true, ExpiresAt: p.ExpiresAt.UnixMilli()})
		return
	}
	_, state, ok := tokenProblem(err)
	if !ok {
		h.Error(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, reply{State: state})
}
