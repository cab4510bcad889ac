package httpauth

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/samagate/samagate/auth"
	"github.com/samagate/samagate/protocol"
)

// clip bounds a client-reported session field (stored and listed back).
func clip(s string) string {
	if len(s) > 100 {
		return strings.ToValidUTF8(s[:100], "")
	}
	return s
}

// loginRequest is the body of POST /login. device_id and organization_id may
// be JSON strings or numbers and are stringified the same way on every path
// (SAMA bug 11 fixed).
type loginRequest struct {
	OrgID    protocol.FlexString `json:"organization_id"`
	Login    string              `json:"login"`
	Password string              `json:"password"`
	DeviceID protocol.FlexString `json:"device_id"`
	// What the app says about itself (UProgress's session fields), kept
	// with the session and shown by GET /sessions; all optional.
	Platform        string `json:"platform"`
	PlatformVersion string `json:"platform_version"`
	AppName         string `json:"app_name"`
	AppVersion      string `json:"app_version"`
	Provider        string `json:"provider"`
	// ExpiresIn asks for an access-token lifetime (Kuzzle): a number is
	// milliseconds, a string a duration ("12h", "7d", "90m"); also
	// ?expiresIn= in the query. Capped at --access-ttl-max.
	ExpiresIn any `json:"expiresIn"`
	// Code is the second factor (TOTP or recovery code) once enabled.
	Code string `json:"code"`
	// SelectionToken completes a login that answered select_account, with
	// organization_id naming the chosen account (no password).
	SelectionToken string `json:"selection_token"`
	// Resume logs in again with a previous access token (Rocket.Chat's
	// resume), like an "Authorization: Bearer" header.
	Resume string `json:"resume"`
}

// selectReply answers a login whose identifier and password match accounts
// in several organizations (the SaaS account API's select_account).
type selectReply struct {
	SelectAccount  selectAccount `json:"select_account"`
	SelectionToken string        `json:"selection_token"`
}

type selectAccount struct {
	Accounts  map[string]string `json:"accounts"`
	LastLogin string            `json:"last_login"`
}

// loginReply is SAMA's /login reply; expired_at is epoch milliseconds. ttl
// (additive, Kuzzle's) is the access token's lifetime in milliseconds.
type loginReply struct {
	User        *auth.User `json:"user"`
	AccessToken string     `json:"access_token"`
	ExpiredAt   int64      `json:"expired_at"`
	TTL         int64      `json:"ttl"`
}

// login serves POST /login with SAMA's variants, in SAMA's order: device_id
// required; login+password; else Bearer access token; else refresh cookie;
// else 401. Success sets exactly one refresh_token cookie.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		h.Error(w, r, err)
		return
	}
	dev, err := protocol.DeviceID(req.DeviceID)
	if err != nil {
		h.Error(w, r, err)
		return
	}

	ctx, addr, ua := r.Context(), h.clientAddr(r), r.UserAgent()
	if q := r.URL.Query().Get("expiresIn"); q != "" && req.ExpiresIn == nil {
		req.ExpiresIn = q
	}
	if req.ExpiresIn != nil {
		d, err := auth.ParseExpiresIn(req.ExpiresIn)
		if err != nil {
			h.Error(w, r, err)
			return
		}
		ctx = auth.WithAccessTTL(ctx, d)
	}
	bearer := bearerToken(r)
	if bearer == "" {
		bearer = req.Resume
	}
	var grant *auth.Grant
	switch refresh := refreshToken(r); {
	case req.Login != "" && req.Password != "" || req.SelectionToken != "":
		grant, err = h.auth.LoginPassword(ctx, auth.PasswordLogin{
			OrgID:          string(req.OrgID),
			Login:          req.Login,
			Password:       req.Password,
			DeviceID:       dev,
			Addr:           addr,
			UserAgent:      ua,
			SelectionToken: req.SelectionToken,
			Code:           req.Code,
			Client: auth.ClientInfo{Platform: clip(req.Platform), PlatformVersion: clip(req.PlatformVersion),
				AppName: clip(req.AppName), AppVersion: clip(req.AppVersion), Provider: clip(req.Provider)},
		})
	case bearer != "":
		grant, err = h.auth.LoginAccess(ctx, bearer, dev, addr, ua)
	case refresh != "":
		grant, err = h.auth.Refresh(ctx, refresh, dev, addr, ua)
	default:
		err = protocol.ErrMissingCredentials
	}
	if sel, ok := errors.AsType[*auth.SelectAccountError](err); ok {
		// Several accounts match: no session, no token, no cookie until the
		// client picks one.
		h.writeJSON(w, r, http.StatusOK, selectReply{
			SelectAccount:  selectAccount{Accounts: sel.Accounts, LastLogin: sel.LastLogin},
			SelectionToken: sel.Token,
		})
		return
	}
	if err != nil {
		h.Error(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, loginReply{
		User:        grant.User,
		AccessToken: grant.AccessToken,
		ExpiredAt:   grant.AccessExpiresAt.UnixMilli(),
		TTL:         grant.AccessTTL.Milliseconds(),
	}, h.refreshCookie(grant.RefreshToken, grant.RefreshExpiresAt))
}

// decodeJSON reads a JSON body into v, but only when the Content-Type is
// JSON (as SAMA); any other body counts as empty. An empty body is {}.
// Unlike SAMA, which silently turns malformed JSON into {}, malformed JSON is
// a 400, and a body over MaxBodyBytes is a 413.
func (h *Handler) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if !isJSON(r.Header.Get("Content-Type")) {
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return protocol.ErrTooLarge
		}
		return protocol.ErrBadFormat // the client hung up or sent a broken body
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0 || bytes.Equal(body, []byte("null")):
		return nil
	case body[0] != '{' || !json.Valid(body):
		return protocol.ErrBadFormat
	}
	return protocol.DecodeParams(body, v) // a field of the wrong type is a 422 naming it
}

// isJSON reports whether a Content-Type contains "application/json", SAMA's
// test (so parameters such as charset do not matter).
func isJSON(contentType string) bool {
	return strings.Contains(strings.ToLower(contentType), "application/json")
}

// bearerToken is the token of an "Authorization: Bearer <token>" header
// (scheme matched case-insensitively), "" when absent.
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
