package files

import (
	"crypto/hmac"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Handler serves Local's signed URLs under Route: PUT stores an upload,
// GET (and HEAD) returns a download. A request is refused unless its
// signature matches and has not expired. Uploads must carry the declared
// Content-Type and exactly the declared number of bytes (read through a
// limit), and land once. Downloads are served with the stored type but
// never as an active document of this origin (nosniff, a sandbox CSP,
// attachment disposition unless an image, video or audio), so an uploaded
// HTML or SVG cannot run script as samagate. Any origin may call them
// (the signature is the credential), as SAMA clients on other origins do.
func (l *Local) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		key, ok := strings.CutPrefix(r.URL.Path, Route)
		if !ok || !validKey(key) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		switch r.Method {
		case http.MethodOptions: // CORS preflight of a cross-origin PUT
			h.Set("Access-Control-Allow-Methods", "GET, HEAD, PUT")
			h.Set("Access-Control-Allow-Headers", "Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPut:
			l.servePut(w, r, key)
		case http.MethodGet, http.MethodHead:
			l.serveGet(w, r, key)
		default:
			h.Set("Allow", "GET, HEAD, PUT, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// verify checks the signature and expiry of a request for key.
func (l *Local) verify(r *http.Request, method, key string, size int64, ctype string) bool {
	q := r.URL.Query()
	exp, err := strconv.ParseInt(q.Get("exp"), 10, 64)
	if err != nil || l.now().Unix() > exp {
		return false
	}
	return hmac.Equal([]byte(q.Get("sig")), []byte(l.sign(method, key, exp, size, ctype)))
}

func (l *Local) servePut(w http.ResponseWriter, r *http.Request, key string) {
	q := r.URL.Query()
	size, err := strconv.ParseInt(q.Get("size"), 10, 64)
	ctype := q.Get("type")
	if err != nil || size < 0 || !l.verify(r, http.MethodPut, key, size, ctype) {
		http.Error(w, "invalid or expired upload URL", http.StatusForbidden)
		return
	}
	if !sameType(r.Header.Get("Content-Type"), ctype) {
		http.Error(w, "Content-Type differs from the declared content type", http.StatusUnsupportedMediaType)
		return
	}
	if r.ContentLength > size {
		http.Error(w, "body larger than the declared size", http.StatusRequestEntityTooLarge)
		return
	}
	if r.ContentLength >= 0 && r.ContentLength != size {
		http.Error(w, "body size differs from the declared size", http.StatusBadRequest)
		return
	}
	switch err := l.put(key, ctype, size, r.Body); {
	case errors.Is(err, errSizeMismatch):
		http.Error(w, err.Error(), http.StatusBadRequest)
	case errors.Is(err, errExists):
		http.Error(w, "already uploaded", http.StatusConflict)
	case err != nil:
		http.Error(w, "internal error", http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func (l *Local) serveGet(w http.ResponseWriter, r *http.Request, key string) {
	if !l.verify(r, http.MethodGet, key, 0, "") {
		http.Error(w, "invalid or expired download URL", http.StatusForbidden)
		return
	}
	obj, err := l.Stat(r.Context(), key)
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	f, err := os.Open(l.path(key))
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", obj.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, max-age=3600")
	if mt := mediaType(obj.ContentType); !strings.HasPrefix(mt, "image/") && !strings.HasPrefix(mt, "video/") &&
		!strings.HasPrefix(mt, "audio/") || mt == "image/svg+xml" {
		h.Set("Content-Disposition", "attachment")
	}
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}
