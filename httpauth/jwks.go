package httpauth

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// jwks answers GET /.well-known/jwks.json with the public keys of the EdDSA
// access-token keys, so other services verify samagate's tokens without a
// shared secret. With HS256 only there is nothing public to serve, so the
// route does not exist (404 "Route not found"). The set changes only on
// rotation, and old keys stay in it while their tokens live, so caches may
// keep it for five minutes.
func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	set := h.auth.JWKS(r.Context())
	if len(set.Keys) == 0 {
		h.Error(w, r, errRouteNotFound)
		return
	}
	b, err := json.Marshal(set)
	if err != nil {
		h.Error(w, r, fmt.Errorf("encode jwks: %w", err))
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "public, max-age=300")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
