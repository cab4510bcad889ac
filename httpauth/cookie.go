package httpauth

import (
	"net/http"
	"time"
)

// RefreshCookie is the name of the refresh-token cookie, as SAMA names it.
const RefreshCookie = "refresh_token"

// refreshCookie is the one Set-Cookie /login sends: HttpOnly so page scripts
// never see the refresh token, SameSite=Lax so other sites cannot send it on
// cross-site POSTs, Path=/ so both /login and /logout receive it, and Max-Age
// from the token's own expiry so the browser drops it when auth would reject it.
func (h *Handler) refreshCookie(token string, expires time.Time) *http.Cookie {
	maxAge := int(time.Until(expires).Round(time.Second) / time.Second)
	if maxAge <= 0 {
		maxAge = -1 // already expired: delete rather than keep a useless cookie
	}
	return h.cookie(token, maxAge)
}

// clearCookie deletes the refresh cookie (Max-Age=0 on the wire).
func (h *Handler) clearCookie() *http.Cookie {
	return h.cookie("", -1)
}

func (h *Handler) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     RefreshCookie,
		Value:    value,
		Path:     "/",
		Domain:   h.cfg.CookieDomain,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   !h.cfg.InsecureCookie,
		SameSite: http.SameSiteLaxMode,
	}
}

// refreshToken is the request's refresh cookie value, "" when absent.
func refreshToken(r *http.Request) string {
	c, err := r.Cookie(RefreshCookie)
	if err != nil {
		return ""
	}
	return c.Value
}
