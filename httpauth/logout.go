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
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	access := bearerToken(r)
	if access == "" {
		h.Error(w, r, protocol.ErrMissingCredentials)
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
