package httpauth

import (
	"net/http"

	"github.com/samagate/samagate/protocol"
)

// CORS reply values. The web client calls /login and /logout from another
// origin with credentials:"include", so the exact Origin is echoed (never
// "*", which browsers refuse with credentials) on every reply: preflight,
// success and error alike, or the browser hides the error text.
const (
	corsAllowMethods = "GET, POST, PUT, DELETE, OPTIONS"
	corsAllowHeaders = "Content-Type, Authorization, API-Key, admin-api-key"
	corsMaxAge       = "600" // seconds a browser may cache a preflight
)

// originSet turns Config.AllowedOrigins into a lookup set; nil means any
// origin (no list, or "*" in it).
func originSet(list []string) map[string]bool {
	if len(list) == 0 {
		return nil
	}
	set := make(map[string]bool, len(list))
	for _, o := range list {
		if o == "*" {
			return nil
		}
		set[o] = true
	}
	return set
}

// cors adds the CORS headers when the request carries an allowed Origin and
// reports whether it did. A request without Origin (not a browser, or
// same-origin) gets none and counts as allowed; a disallowed origin gets none,
// so the browser withholds the reply from the page.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) (allowed bool) {
	hdr := w.Header()
	hdr.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if h.origins != nil && !h.origins[origin] {
		return false
	}
	hdr.Set("Access-Control-Allow-Origin", origin)
	hdr.Set("Access-Control-Allow-Credentials", "true")
	hdr.Set("Access-Control-Allow-Methods", corsAllowMethods)
	hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	return true
}

// preflight answers OPTIONS on any path as SAMA does: 204, with Max-Age so
// browsers do not repeat it before every login; 403 for a disallowed origin.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request, allowed bool) {
	if !allowed {
		h.Error(w, r, protocol.ErrForbidden)
		return
	}
	if r.Header.Get("Origin") != "" {
		w.Header().Set("Access-Control-Max-Age", corsMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}
