package httpauth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/samagate/samagate/protocol"
)

// AdminMaxBodyBytes caps the body of an admin route other than POST
// /admin/organization (512 KiB; 413 beyond): an admin message carries a
// body of up to 64 KiB of text, which JSON escaping can grow six times
// ("\u0001"), besides its attachments and x. Only a caller with the key
// gets this far. It stays under the gateway's limit on any HTTP body
// (gateway.Config.MaxHTTPBodyBytes, 1 MiB), where the connection is cut.
const AdminMaxBodyBytes = 512 << 10

// AdminRoutes serves the admin routes beyond POST /admin/organization
// (Config.Admin; the app mounts package adminapi there). httpauth checks
// the key first and reads the body, then writes what ServeAdmin returns:
// reply as JSON with status, or err as it writes every other error (SAMA's
// text, or JSON for Accept: application/json). So the 401, 404 and 413 of
// every admin route come from one place, and the routes need no HTTP code.
// A route it does not serve is protocol.ErrRouteNotFound.
type AdminRoutes interface {
	ServeAdmin(ctx context.Context, req AdminRequest) (status int, reply any, err error)
}

// AdminRequest is one admin call whose key was right.
type AdminRequest struct {
	Method string
	Path   string
	Query  url.Values
	// Body is the request body with surrounding space trimmed; empty when
	// there was none. It is not checked: it is read as JSON whatever the
	// Content-Type, because backends (and curl -d) often leave it out.
	Body []byte
}

// admin serves the admin routes, which need the admin-api-key header (as
// SAMA): POST /admin/organization {name} -> {"organization":{_id, name,
// created_at, updated_at}}, and the others through Config.Admin. A missing
// or wrong key is 401 Unauthorized.; with no key configured every call is.
// The key is checked before anything else, so a caller without it learns
// nothing of the routes and cannot make the server read a large body.
func (h *Handler) admin(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("admin-api-key")
	if h.cfg.AdminAPIKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.AdminAPIKey)) != 1 {
		h.Error(w, r, protocol.ErrUnauthorized)
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/admin/organization" {
		h.createOrganization(w, r)
		return
	}
	if h.cfg.Admin == nil {
		h.Error(w, r, errRouteNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max(h.cfg.MaxBodyBytes, AdminMaxBodyBytes)))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			h.Error(w, r, protocol.ErrTooLarge)
			return
		}
		h.Error(w, r, protocol.ErrBadFormat) // the client hung up or sent a broken body
		return
	}
	status, reply, err := h.cfg.Admin.ServeAdmin(r.Context(), AdminRequest{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: bytes.TrimSpace(body)})
	if err != nil {
		h.Error(w, r, err)
		return
	}
	h.writeJSON(w, r, status, reply)
}

// createOrganization is POST /admin/organization {name}.
func (h *Handler) createOrganization(w http.ResponseWriter, r *http.Request) {
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
