package httpauth

import (
	"net/http"

	"github.com/samagate/samagate/protocol"
)

// logout serves POST /logout: the Bearer access token and the refresh cookie
// of the same device end that device's session (auth then unbinds its live
// sockets). No access token is 401 "Missing authentication credentials.";
// auth answers a bad token pair (cookie missing, or of another device) with
// 422 "Incorrect token.". Success clears the cookie.
//
// With {"scope":"all"} (or ?global=true) it ends every session of the user,
// with {"scope":"others"} every one but the caller's; these need only the
// access token and answer {"success":true,"ended":n}. Live sockets of the
// ended sessions close with 4100 on every node.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	access := bearerToken(r)
	if access == "" {
		h.Error(w, r, protocol.ErrMissingCredentials)
		return
	}
	scope, err := h.logoutScope(w, r)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	if scope != "" {
		p, _, ok := h.principal(w, r)
		if !ok {
			return
		}
		n, err := h.auth.LogoutEverywhere(r.Context(), *p, scope == "others")
		if err != nil {
			h.Error(w, r, err)
			return
		}
		var cookies []*http.Cookie
		if scope == "all" {
			cookies = append(cookies, h.clearCookie())
		}
		h.writeJSON(w, r, http.StatusOK, struct {
			Success bool `json:"success"`
			Ended   int  `json:"ended"`
		}{true, n}, cookies...)
		return
	}
	if _, err := h.auth.LogoutTokens(r.Context(), access, refreshToken(r)); err != nil {
		h.Error(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, struct {
		Success bool `json:"success"`
	}{true}, h.clearCookie())
}

// logoutScope reads the optional scope of POST /logout: "" (this device),
// "all" or "others", from ?global=true or the JSON body {"scope":...}.
func (h *Handler) logoutScope(w http.ResponseWriter, r *http.Request) (string, error) {
	if g := r.URL.Query().Get("global"); g == "true" || g == "1" {
		return "all", nil
	}
	if r.ContentLength == 0 {
		return "", nil
	}
	var body struct {
		Scope string `json:"scope"`
	}
	if err := h.decodeJSON(w, r, &body); err != nil {
		return "", err
	}
	switch body.Scope {
	case "", "device", "all", "others":
		if body.Scope == "device" {
			return "", nil
		}
		return body.Scope, nil
	}
	return "", protocol.Invalid("scope", "'scope' must be one of device, all, others")
}
