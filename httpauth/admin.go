package httpauth

import (
	"crypto/subtle"
	"net/http"

	"github.com/samagate/samagate/protocol"
)

// admin serves the admin routes, which need the admin-api-key header (as
// SAMA): POST /admin/organization {name} -> {"organization":{_id, name,
// created_at, updated_at}}. A missing or wrong key is 401 Unauthorized.;
// with no key configured every call is.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("admin-api-key")
	if h.cfg.AdminAPIKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.AdminAPIKey)) != 1 {
		h.Error(w, r, protocol.ErrUnauthorized)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/admin/organization" {
		h.Error(w, r, errRouteNotFound)
		return
	}
	var body struct {
		Name string `json:"name"`
	}
	if err := h.decodeJSON(w, r, &body); err != nil {
		h.Error(w, r, err)
		return
	}
	o, err := h.auth.CreateOrganization(r.Context(), body.Name)
	if err != nil {
		h.Error(w, r, err)
		return
	}
	h.writeJSON(w, r, http.StatusOK, map[string]any{"organization": o})
}
