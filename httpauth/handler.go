// Package httpauth is the HTTP face of auth: POST /login, POST /logout,
// CORS preflights and GET /health, with SAMA's routes, statuses and error
// texts (sama-reference.md §2.3), so existing SAMA clients work unmodified.
//
// Routes:
//
//	POST    /login    password, Bearer or refresh-cookie login -> {"user","access_token","expired_at"} + cookie
//	POST    /logout   Bearer access + refresh cookie -> {"success":true}, cookie cleared
//	OPTIONS <any>     CORS preflight -> 204 (403 for a disallowed Origin)
//	GET     /health   {"status":"ok","hostname":"<host>"}
//	<any>   /admin/*  header admin-api-key: POST /admin/organization, then Config.Admin (admin.go)
//	GET     <other>   Config.Fallback when set, else 404 "Route not found"
//	<other>           404 "Route not found"
//
// Every failure is a non-2xx text/plain reply whose body is the SAMA message;
// the official web client shows that text to its user.
package httpauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/samagate/samagate/auth"
)

// Authenticator is what httpauth needs from auth. It is declared here, where
// it is consumed, so the HTTP side depends on four methods rather than the
// whole service; *auth.Service implements it.
type Authenticator interface {
	// LoginPassword checks a login and password and opens a device session.
	LoginPassword(ctx context.Context, l auth.PasswordLogin) (*auth.Grant, error)
	// LoginAccess re-logs in with an access token (Bearer) and rotates the refresh token.
	LoginAccess(ctx context.Context, accessToken, deviceID, addr, userAgent string) (*auth.Grant, error)
	// Refresh re-logs in with a refresh token (cookie), rotating it with reuse detection.
	Refresh(ctx context.Context, refreshToken, deviceID, addr, userAgent string) (*auth.Grant, error)
	// LogoutTokens ends the device session both tokens belong to.
	LogoutTokens(ctx context.Context, accessToken, refreshToken string) (*auth.Principal, error)
	// Bearer authenticates an access token of any device.
	Bearer(ctx context.Context, accessToken string) (*auth.Principal, *auth.User, error)
	// Sessions, CurrentSession and RevokeSession are the device-session routes.
	Sessions(ctx context.Context, p auth.Principal) ([]auth.SessionInfo, error)
	CurrentSession(ctx context.Context, p auth.Principal) (*auth.SessionInfo, error)
	RevokeSession(ctx context.Context, p auth.Principal, id string) error
	// LogoutEverywhere ends all the user's sessions, or all but the current.
	LogoutEverywhere(ctx context.Context, p auth.Principal, keepCurrent bool) (int, error)
	// EnrollTOTP, ConfirmTOTP and DisableTOTP manage the second factor.
	EnrollTOTP(ctx context.Context, p auth.Principal, password, addr string) (*auth.TOTPEnrollment, error)
	ConfirmTOTP(ctx context.Context, p auth.Principal, code string) ([]string, error)
	DisableTOTP(ctx context.Context, p auth.Principal, code, addr string) error
	// CreateOrganization is the admin API's POST /admin/organization.
	CreateOrganization(ctx context.Context, name string) (*auth.Organization, error)
	JWKS(ctx context.Context) auth.JWKSet
}

var _ Authenticator = (*auth.Service)(nil)

// DefaultMaxBodyBytes is the default limit on a request body (64 KiB): a
// login body is a few hundred bytes.
const DefaultMaxBodyBytes = 64 << 10

// Config configures a Handler. The zero value works: same-origin and
// loopback browser origins are allowed, cookies are Secure, bodies are capped at 64 KiB, the client address
// is the TCP peer and the hostname is os.Hostname().
type Config struct {
	// AllowedOrigins is the CORS allow-list of exact browser origins
	// ("https://chat.example.com") that may make credentialed requests,
	// echoed back (browsers reject "*" with credentials). Default (empty):
	// the server's own origin and loopback origins on any port
	// (http://localhost:5173, http://127.0.0.1:8080), enough for local
	// development, and a warning at start-up; a page of any other site
	// needs to be listed. "*" in the list means any origin. "null" is
	// always refused.
	AllowedOrigins []string
	// InsecureCookie drops the Secure attribute from the refresh_token cookie,
	// for development over plain http (browsers other than on localhost do not
	// store Secure cookies received over http). Default false: Secure.
	InsecureCookie bool
	// CookieDomain is the Domain attribute of the refresh_token cookie.
	// Default "": a host-only cookie.
	CookieDomain string
	// MaxBodyBytes caps a request body, in bytes; a larger JSON body is
	// answered 413. Default DefaultMaxBodyBytes (64 KiB).
	MaxBodyBytes int64
	// TrustProxyHeaders takes the client address (used for throttling and
	// session records) from the last X-Forwarded-For entry, the one the
	// trusted proxy appended (the entries before it are the client's to
	// choose). Enable it only behind one proxy that appends that header.
	// Default false: the TCP peer.
	TrustProxyHeaders bool
	// Hostname is reported by GET /health. Default os.Hostname().
	Hostname string
	// AdminAPIKey enables the admin routes (header admin-api-key, as SAMA's
	// HTTP_ADMIN_API_KEY). Empty: every admin call is 401.
	AdminAPIKey string
	// Admin serves the admin routes beyond POST /admin/organization, after
	// the key check (AdminRoutes). Default nil: they are 404.
	Admin AdminRoutes
	// Fallback serves GET and HEAD requests no route matches (the app mounts
	// its web page here). Default nil: 404 "Route not found".
	Fallback http.Handler
}

func (c Config) withDefaults() Config {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	return c
}

// Handler serves the HTTP routes of samagate. Create it with New; it is safe
// for concurrent use and holds no per-request state.
type Handler struct {
	// immutable after New
	auth    Authenticator
	cfg     Config
	log     zerolog.Logger
	origins corsPolicy
}

// New returns a Handler serving a's logins over HTTP.
func New(a Authenticator, cfg Config, log zerolog.Logger) *Handler {
	h := &Handler{auth: a, cfg: cfg.withDefaults(), log: log}
	h.origins = newCORSPolicy(h.cfg.AllowedOrigins)
	if !h.origins.configured() {
		log.Warn().Msg("no CORS origins set (--cors-origins): only this server's own origin and loopback origins " +
			"may log in from a browser page; list the origins of your web clients")
	}
	return h
}

// ServeHTTP applies CORS, then routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	allowed := h.cors(w, r)
	if r.Method == http.MethodOptions {
		h.preflight(w, r, allowed)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/login":
		h.login(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/logout":
		h.logout(w, r)
	case r.Method == http.MethodPost && (r.URL.Path == "/check-token" || r.URL.Path == "/_checkToken"):
		h.checkToken(w, r)
	case strings.HasPrefix(r.URL.Path, "/2fa/"):
		h.twoFactor(w, r)
	case strings.HasPrefix(r.URL.Path, "/admin/"):
		h.admin(w, r)
	case r.URL.Path == "/sessions" || strings.HasPrefix(r.URL.Path, "/sessions/") || r.URL.Path == "/me":
		h.sessions(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/health":
		h.health(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == "/.well-known/jwks.json":
		h.jwks(w, r)
	case (r.Method == http.MethodGet || r.Method == http.MethodHead) && h.cfg.Fallback != nil:
		h.cfg.Fallback.ServeHTTP(w, r)
	default:
		h.Error(w, r, errRouteNotFound)
	}
}

// health answers GET /health like SAMA, for load-balancer checks.
func (h *Handler) health(w http.ResponseWriter, r *http.Request) {
	h.writeJSON(w, r, http.StatusOK, struct {
		Status   string `json:"status"`
		Hostname string `json:"hostname"`
	}{"ok", h.cfg.Hostname})
}

// clientAddr is the address auth records and throttles by: the last
// X-Forwarded-For entry when the proxy is trusted (it appended that one; a
// client can put anything before it, and would pick its own throttle
// bucket per request), else the TCP peer's host.
func (h *Handler) clientAddr(r *http.Request) string {
	if h.cfg.TrustProxyHeaders {
		if xff := strings.Join(r.Header.Values("X-Forwarded-For"), ","); xff != "" {
			last := xff[strings.LastIndex(xff, ",")+1:]
			if a := strings.TrimSpace(last); a != "" {
				return a
			}
		}
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// writeJSON writes v as a JSON reply, after setting cookies, that no cache
// may keep (replies carry tokens). v is encoded before any header is set,
// so an encoding failure becomes a plain 500 without the cookies.
func (h *Handler) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any, cookies ...*http.Cookie) {
	b, err := json.Marshal(v)
	if err != nil {
		h.Error(w, r, fmt.Errorf("encode reply: %w", err))
		return
	}
	for _, c := range cookies {
		http.SetCookie(w, c)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
