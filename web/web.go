// Package web embeds the demo chat page so a samagate binary can serve a
// working client at GET / with no separate deployment, build step or CDN.
package web

import (
	"embed"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

// static holds index.html, app.js and style.css; embedding them keeps the
// demo in lock-step with the gateway version that serves it.
//
//go:embed static
var static embed.FS

// contentTypes pins the Content-Type of each asset kind so the answer does
// not depend on the host's /etc/mime.types (which may map .js differently
// or be absent in minimal containers).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".ico":  "image/x-icon",
	".png":  "image/png",
}

// Handler serves the demo page: index.html at "/" and the other embedded
// assets by name (e.g. /app.js, /style.css). It answers GET and HEAD only,
// returns 404 for anything not embedded, and never lists directories, so
// mounting it at "/" exposes nothing but the three demo files.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // unreachable: "static" is embedded at compile time
	}
	return &handler{files: sub}
}

// handler is the http.Handler behind Handler; it holds the rooted asset FS.
type handler struct {
	files fs.FS
}

// ServeHTTP maps the request path to an embedded file and serves it with a
// fixed Content-Type; it uses http.ServeContent so Range, HEAD and
// conditional requests behave like any static file server.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" {
		name = "index.html"
	}
	ct, ok := contentTypes[path.Ext(name)]
	if !ok || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	f, err := h.files.Open(name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		http.NotFound(w, r)
		return
	}
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		http.Error(w, "asset not seekable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The embedded files have no modification time, so ask browsers to
	// revalidate; otherwise a gateway upgrade could keep serving stale JS.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, st.ModTime(), rs)
}
