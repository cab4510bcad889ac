package httpauth

import (
	"net"
	"net/http"
	"net/url"
	"strings"

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

// corsPolicy says which browser origins may read credentialed replies: a
// page that may is a page that can log in with the user's refresh cookie
// and read the access token, so the default is narrow.
type corsPolicy struct {
	any  bool            // "*" listed: every origin but "null"
	list map[string]bool // the listed origins; nil: none listed
}

// newCORSPolicy builds the policy of Config.AllowedOrigins.
func newCORSPolicy(list []string) corsPolicy {
	p := corsPolicy{}
	for _, o := range list {
		if o == "*" {
			p.any = true
			continue
		}
		if p.list == nil {
			p.list = map[string]bool{}
		}
		p.list[strings.TrimSuffix(o, "/")] = true
	}
	return p
}

// configured reports whether origins were listed at all.
func (p corsPolicy) configured() bool { return p.any || p.list != nil }

// allows reports whether origin may make credentialed requests to the
// server r reached. "null" (sandboxed frames, file: pages) never may; the
// server's own origin always may. With no list, loopback origins on any
// port may too (local development works with zero config); with a list,
// only the listed ones ("*": any).
func (p corsPolicy) allows(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	if origin == "null" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false
	}
	switch {
	case strings.EqualFold(u.Host, r.Host):
		return true
	case p.any:
		return true
	case p.list != nil:
		return p.list[origin]
	}
	return isLoopbackHost(u.Hostname())
}

// isLoopbackHost is localhost (and its subdomains) or a loopback address.
func isLoopbackHost(host string) bool {
	host = strings.ToLower(host)
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
	if !h.origins.allows(origin, r) {
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
