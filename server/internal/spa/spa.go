// Package spa serves the single-page app that Vite builds into dist/ and
// that is embedded into the binary. Hashed files under /assets/ are cached
// for a year; other files (favicon.ico, robots.txt) are served as they are; a
// path that names a missing file is a 404; every other path gets index.html,
// never cached, so client-side routes work and a deploy is picked up at once.
// Before the first `npm run build`, dist/ holds only a placeholder and a
// built-in page says so.
package spa

import (
	"bytes"
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed all:dist
var embedded embed.FS

// Handler serves the SPA from files (a Vite build, its root holding index.html).
type Handler struct {
	files fs.FS
	index []byte // nil when the SPA has not been built
}

// New serves the embedded build.
func New() *Handler {
	dist, _ := fs.Sub(embedded, "dist")
	return NewFS(dist)
}

// NewFS serves a build from files (tests pass an fstest.MapFS).
func NewFS(files fs.FS) *Handler {
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		index = nil
	}
	return &Handler{files: files, index: index}
}

// Built reports whether an SPA build is embedded.
func (h *Handler) Built() bool { return h.index != nil }

const immutable = "public, max-age=31536000, immutable"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if strings.HasPrefix(name, "assets/") {
		// A missing hashed asset is a 404, not index.html: a stale page asking
		// for an old chunk must fail visibly, not parse HTML as JavaScript.
		if !h.serveFile(w, r, name, immutable) {
			http.NotFound(w, r)
		}
		return
	}
	if name != "" && name != "index.html" && h.serveFile(w, r, name, "no-cache") {
		return // favicon.ico, robots.txt and the like
	}
	// A path that names a file (its last segment has an extension) and is not
	// one is a 404: a browser, crawler or script asking for /logo.png must not
	// get the app's HTML with a 200. Client routes have no extension; a path
	// that ends in a slash names no file, whatever dots it has.
	if path.Ext(name) != "" && name != "index.html" && !strings.HasSuffix(r.URL.Path, "/") {
		w.Header().Set("Cache-Control", "no-cache")
		http.NotFound(w, r)
		return
	}
	h.serveIndex(w, r)
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name, cacheControl string) bool {
	b, err := fs.ReadFile(h.files, name)
	if err != nil {
		return false
	}
	w.Header().Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
	return true
}

func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	body := h.index
	if body == nil {
		body = notBuilt
	}
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(body))
}

var notBuilt = []byte(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPA not built yet</title></head>
<body><main><h1>The single-page app is not built yet</h1>
<p>The server is running; its API answers under <code>/api/</code>.
Build the SPA with <code>npm ci &amp;&amp; npm run build</code> and restart the server
(the README's run command does both).</p></main></body></html>
`)
